"""CKV_ONS_2: a Timestream for InfluxDB instance or cluster delivers its engine logs to S3.

``log_delivery_configuration { s3_configuration { bucket_name = ..., enabled = true } }`` is the
only log export the resource offers; without it engine errors are lost when the node is replaced.
"""

from __future__ import annotations

from typing import Any

from ons_checkov_common import INFLUXDB_RESOURCES
from ons_checkov_common import first as _first

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _true(value: Any) -> bool:
    value = _first(value)
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


class TimestreamInfluxDBLogDelivery(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Timestream for InfluxDB delivers engine logs to an S3 bucket",
            id="CKV_ONS_2",
            categories=[CheckCategories.LOGGING],
            supported_resources=INFLUXDB_RESOURCES,
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["log_delivery_configuration"]
        delivery = _first(conf.get("log_delivery_configuration"))
        if not isinstance(delivery, dict):
            return CheckResult.FAILED
        s3 = _first(delivery.get("s3_configuration"))
        if not isinstance(s3, dict):
            return CheckResult.FAILED
        bucket = _first(s3.get("bucket_name"))
        if not bucket or not _true(s3.get("enabled")):
            return CheckResult.FAILED
        return CheckResult.PASSED


check = TimestreamInfluxDBLogDelivery()

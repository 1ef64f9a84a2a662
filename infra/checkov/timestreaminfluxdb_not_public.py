"""CKV_ONS_1: a Timestream for InfluxDB instance or cluster says ``publicly_accessible = false``.

The provider defaults the argument to ``false``, but the check wants it written down: a module
input or a copied example (the provider docs show ``publicly_accessible = true``) cannot then
turn the database public without the diff showing it. Anything but a literal ``false`` fails.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class TimestreamInfluxDBNotPublic(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Timestream for InfluxDB is never publicly accessible (explicit false)",
            id="CKV_ONS_1",
            categories=[CheckCategories.NETWORKING],
            supported_resources=[
                "aws_timestreaminfluxdb_db_instance",
                "aws_timestreaminfluxdb_db_cluster",
            ],
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["publicly_accessible"]
        value = conf.get("publicly_accessible")
        if not value:
            return CheckResult.FAILED
        flag = value[0]
        if flag is False or (isinstance(flag, str) and flag.strip().lower() == "false"):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = TimestreamInfluxDBNotPublic()

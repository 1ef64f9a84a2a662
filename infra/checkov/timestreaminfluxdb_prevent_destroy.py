"""CKV_ONS_6: Terraform never destroys a Timestream for InfluxDB instance or cluster.

The service takes no snapshots: a ``terraform destroy``, an engine switch or a change that forces
a replacement (name, organization, bucket, subnets, ...) deletes every point migrated into it.
``lifecycle { prevent_destroy = true }`` makes Terraform refuse such a plan. Terraform does not
allow a variable there, so it is a literal ``true`` in every environment; removing an environment
is a deliberate edit (infra/README, "Destroying an environment").
"""

from __future__ import annotations

from typing import Any

from ons_checkov_common import INFLUXDB_RESOURCES
from ons_checkov_common import first as _first

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class TimestreamInfluxDBPreventDestroy(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Timestream for InfluxDB is protected from destroy and replacement",
            id="CKV_ONS_6",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=INFLUXDB_RESOURCES,
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["lifecycle"]
        lifecycle = _first(conf.get("lifecycle"))
        if not isinstance(lifecycle, dict):
            return CheckResult.FAILED
        # A literal only: Terraform rejects anything else in a lifecycle block.
        if _first(lifecycle.get("prevent_destroy")) is True:
            return CheckResult.PASSED
        return CheckResult.FAILED


check = TimestreamInfluxDBPreventDestroy()

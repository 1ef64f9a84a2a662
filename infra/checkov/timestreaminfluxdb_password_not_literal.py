"""CKV_ONS_3: the InfluxDB admin password is never a literal in the configuration.

Accepted sources: a ``random_password`` resource, an ``ephemeral`` value, a Secrets Manager
secret version (data source), or a variable without a default (set through ``TF_VAR_...`` at
apply time). checkov substitutes variable defaults, so a default literal fails like an inline one.
A V3 cluster takes no password at all (the service creates an admin token): that passes.
"""

from __future__ import annotations

import re
from typing import Any

from ons_checkov_common import INFLUXDB_RESOURCES

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

_ALLOWED = re.compile(
    r"^\$?\{?\s*("
    r"random_password\.|ephemeral\.|data\.aws_secretsmanager_secret_version\.|var\."
    r")"
)


class TimestreamInfluxDBPasswordNotLiteral(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Timestream for InfluxDB admin password is generated or injected, not literal",
            id="CKV_ONS_3",
            categories=[CheckCategories.SECRETS],
            supported_resources=INFLUXDB_RESOURCES,
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["password"]
        value = conf.get("password")
        if not value:
            return CheckResult.PASSED
        password = value[0]
        if isinstance(password, str) and _ALLOWED.match(password.strip()):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = TimestreamInfluxDBPasswordNotLiteral()

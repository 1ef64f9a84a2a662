"""Checks that want a boolean argument written down as a literal, whatever its provider default.

- CKV_ONS_1: a Timestream for InfluxDB instance or cluster says ``publicly_accessible = false``.
  The provider defaults it to ``false``, but the check wants it written down: a module input or a
  copied example (the provider docs show ``publicly_accessible = true``) cannot then turn the
  database public without the diff showing it.
- CKV_ONS_5: every load balancer is internal (``internal = true``). The project's load balancers
  (the Dagster UI, the query API) are reached from the VPC and a VPN range only; ``internal``
  defaults to ``false``, an internet-facing load balancer, and the provider's example writes
  ``internal = false``. checkov 3.x has no rule for either.

Anything but the literal (``true``/``false``, or its string form) fails, a missing argument too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ons_checkov_common import INFLUXDB_RESOURCES

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class ExplicitFlag(BaseResourceCheck):
    def __init__(
        self, id: str, name: str, resources: Iterable[str], argument: str, required: bool
    ) -> None:
        super().__init__(
            name=name, id=id, categories=[CheckCategories.NETWORKING], supported_resources=resources
        )
        self.argument = argument
        self.required = required

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = [self.argument]
        value = conf.get(self.argument)
        if not value:
            return CheckResult.FAILED
        flag = value[0]
        if flag is self.required or str(flag).strip().lower() == str(self.required).lower():
            return CheckResult.PASSED
        return CheckResult.FAILED


not_public = ExplicitFlag(
    id="CKV_ONS_1",
    name="Timestream for InfluxDB is never publicly accessible (explicit false)",
    resources=INFLUXDB_RESOURCES,
    argument="publicly_accessible",
    required=False,
)

internal = ExplicitFlag(
    id="CKV_ONS_5",
    name="Load balancers are internal, never internet-facing (explicit internal = true)",
    resources=["aws_lb", "aws_alb"],
    argument="internal",
    required=True,
)

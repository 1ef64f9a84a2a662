"""CKV_ONS_4: no security group rule opens an InfluxDB port (8086 v2, 8181 v3) to the internet.

Covers inline ``ingress`` blocks of ``aws_security_group``, ``aws_security_group_rule`` with
``type = "ingress"`` and ``aws_vpc_security_group_ingress_rule``. A rule fails when its port range
(or "all traffic") includes an InfluxDB port and its source is ``0.0.0.0/0`` or ``::/0``. The
provider's own "public access" example for Timestream for InfluxDB does exactly that.
"""

from __future__ import annotations

from typing import Any

from ons_checkov_common import first as _first

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

INFLUXDB_PORTS = (8086, 8181)
OPEN_CIDRS = {"0.0.0.0/0", "::/0"}


def _flat(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            out.extend(_flat(item))
        return out
    return [value]


def _port(value: Any) -> int | None:
    value = _first(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _all_protocols(protocol: Any) -> bool:
    return str(_first(protocol)).strip().lower() in {"-1", "all"}


def _covers_influx(from_port: Any, to_port: Any, protocol: Any) -> bool:
    if _all_protocols(protocol):
        return True
    low, high = _port(from_port), _port(to_port)
    if low is None or high is None:
        return True  # unresolved ports: assume the worst
    return any(low <= port <= high for port in INFLUXDB_PORTS)


def _open(*cidr_values: Any) -> bool:
    return any(str(c).strip() in OPEN_CIDRS for value in cidr_values for c in _flat(value))


class InfluxDBPortNotPublic(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="No security group rule opens the InfluxDB port to 0.0.0.0/0 or ::/0",
            id="CKV_ONS_4",
            categories=[CheckCategories.NETWORKING],
            supported_resources=[
                "aws_security_group",
                "aws_security_group_rule",
                "aws_vpc_security_group_ingress_rule",
            ],
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        if self.entity_type == "aws_security_group":
            self.evaluated_keys = ["ingress"]
            for rule in _flat(conf.get("ingress")):
                if not isinstance(rule, dict):
                    continue
                if _covers_influx(
                    rule.get("from_port"), rule.get("to_port"), rule.get("protocol")
                ) and _open(rule.get("cidr_blocks"), rule.get("ipv6_cidr_blocks")):
                    return CheckResult.FAILED
            return CheckResult.PASSED
        if self.entity_type == "aws_security_group_rule":
            self.evaluated_keys = ["type", "from_port", "to_port", "cidr_blocks"]
            if str(_first(conf.get("type"))).strip().lower() != "ingress":
                return CheckResult.PASSED
            if _covers_influx(
                conf.get("from_port"), conf.get("to_port"), conf.get("protocol")
            ) and _open(conf.get("cidr_blocks"), conf.get("ipv6_cidr_blocks")):
                return CheckResult.FAILED
            return CheckResult.PASSED
        self.evaluated_keys = ["from_port", "to_port", "ip_protocol", "cidr_ipv4", "cidr_ipv6"]
        if _covers_influx(
            conf.get("from_port"), conf.get("to_port"), conf.get("ip_protocol")
        ) and _open(conf.get("cidr_ipv4"), conf.get("cidr_ipv6")):
            return CheckResult.FAILED
        return CheckResult.PASSED


check = InfluxDBPortNotPublic()

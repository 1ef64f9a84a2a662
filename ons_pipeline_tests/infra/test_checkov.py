"""checkov, from its own virtualenv (it pins an old boto3), with the custom policies of
``infra/checkov``: the Terraform is clean with each environment's tfvars, and every custom
policy fails on a bad snippet.

The virtualenv is ``.venv-checkov`` at the repository root (``python3 -m venv .venv-checkov &&
.venv-checkov/bin/pip install checkov``); without it these tests are skipped, saying so.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ons_pipeline_tests.infra.hcl import ENVS, ENVS_DIR, INFRA_DIR, REPO_ROOT, tfvars

CHECKOV = Path(os.environ.get("ONS_CHECKOV", REPO_ROOT / ".venv-checkov" / "bin" / "checkov"))
POLICIES_DIR = INFRA_DIR / "checkov"
FIXTURES_DIR = Path(__file__).parent / "fixtures"
SKIP_RE = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")

# policy -> (resources in fixtures/bad that must fail it, resources in fixtures/good that pass it)
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "CKV_ONS_1": (
        {"aws_timestreaminfluxdb_db_instance.public", "aws_timestreaminfluxdb_db_cluster.implicit"},
        {
            "aws_timestreaminfluxdb_db_instance.generated_password",
            "aws_timestreaminfluxdb_db_instance.injected_password",
            "aws_timestreaminfluxdb_db_cluster.v3",
        },
    ),
    "CKV_ONS_2": (
        {
            "aws_timestreaminfluxdb_db_instance.no_logs",
            "aws_timestreaminfluxdb_db_cluster.logs_disabled",
        },
        {
            "aws_timestreaminfluxdb_db_instance.generated_password",
            "aws_timestreaminfluxdb_db_instance.injected_password",
            "aws_timestreaminfluxdb_db_cluster.v3",
        },
    ),
    "CKV_ONS_3": (
        {
            "aws_timestreaminfluxdb_db_instance.literal_password",
            "aws_timestreaminfluxdb_db_instance.default_password",
        },
        {
            "aws_timestreaminfluxdb_db_instance.generated_password",
            "aws_timestreaminfluxdb_db_instance.injected_password",
            "aws_timestreaminfluxdb_db_cluster.v3",
        },
    ),
    "CKV_ONS_4": (
        {
            "aws_vpc_security_group_ingress_rule.influx_world",
            "aws_vpc_security_group_ingress_rule.all_world_v6",
            "aws_security_group.influx_v3_world",
            "aws_security_group_rule.influx_world_legacy",
        },
        {
            "aws_vpc_security_group_ingress_rule.influx_from_tasks",
            "aws_vpc_security_group_ingress_rule.https_world",
            "aws_security_group.influx_private",
            "aws_security_group_rule.influx_egress_anywhere",
        },
    ),
    "CKV_ONS_5": ({"aws_lb.public", "aws_alb.implicit"}, {"aws_lb.internal_api"}),
    "CKV_ONS_6": (
        {
            "aws_timestreaminfluxdb_db_instance.destroyable",
            "aws_timestreaminfluxdb_db_cluster.destroy_allowed",
        },
        {
            "aws_timestreaminfluxdb_db_instance.generated_password",
            "aws_timestreaminfluxdb_db_instance.injected_password",
            "aws_timestreaminfluxdb_db_cluster.v3",
        },
    ),
}

# The load balancers of each environment (dev has no UI certificate, but checkov evaluates a
# module whose count is 0 all the same) and the built-in checks every HTTPS listener must pass:
# HTTPS (CKV_AWS_2), TLS 1.2 or later (CKV_AWS_103).
LOAD_BALANCERS = {"module.dagster.module.ui_alb", "module.api.module.alb"}
LISTENER_CHECKS = {"CKV_AWS_2", "CKV_AWS_103"}


def policy_ids() -> list[str]:
    ids = []
    for path in sorted(POLICIES_DIR.glob("*.py")):
        ids += re.findall(r'\bid="(CKV_ONS_\d+)"', path.read_text(encoding="utf-8"))
    return sorted(ids)


def run_checkov(directory: Path, *extra: str) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.skip(
            f"checkov not installed at {CHECKOV}: create its own venv with "
            "`python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov` "
            "(it pins an old boto3, so not in the project venv)"
        )
    command = [
        str(CHECKOV),
        "--directory",
        str(directory),
        "--framework",
        "terraform",
        "--external-checks-dir",
        str(POLICIES_DIR),
        "--skip-download",  # offline: no Prisma Cloud guideline download
        "--compact",
        "--output",
        "json",
        *extra,
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=240, cwd=REPO_ROOT, check=False
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    (report,) = [r for r in reports if r.get("check_type") == "terraform"]
    return report


@pytest.fixture(scope="module", params=ENVS)
def infra_report(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The root module as an environment deploys it: checkov reads envs/<env>.tfvars."""
    report = run_checkov(INFRA_DIR, "--var-file", str(ENVS_DIR / f"{request.param}.tfvars"))
    report["environment"] = request.param
    return report


@pytest.fixture(scope="module")
def fixtures_report() -> dict[str, Any]:
    return run_checkov(FIXTURES_DIR, "--check", ",".join(policy_ids()))


def _verdicts(report: dict[str, Any], key: str) -> set[tuple[str, str, str]]:
    return {
        (c["check_id"], c["resource"], Path(c["file_path"]).parent.name)
        for c in report["results"][key]
    }


def test_every_custom_policy_has_fixtures() -> None:
    assert policy_ids() == sorted(EXPECTED)


def test_infra_is_checkov_clean(infra_report: dict[str, Any]) -> None:
    summary = infra_report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]}) "
        f"{c['check_name']}"
        for c in infra_report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 300  # the built-in AWS checks ran, not just ours


def test_checkov_evaluated_the_environment_tfvars(infra_report: dict[str, Any]) -> None:
    """Each AZ of the environment's tfvars has its private subnet checked, and no other."""
    zones = len(tfvars(infra_report["environment"])["availability_zones"])
    checked = {
        c["resource"]
        for c in infra_report["results"]["passed_checks"]
        if c["resource"].startswith("module.network.aws_subnet.private[")
    }
    assert checked == {f"module.network.aws_subnet.private[{i}]" for i in range(zones)}


def test_custom_policies_ran_on_the_influxdb_resources(infra_report: dict[str, Any]) -> None:
    passed = {
        (c["check_id"], c["resource"].rsplit(".", 2)[-2])
        for c in infra_report["results"]["passed_checks"]
    }
    for policy in ("CKV_ONS_1", "CKV_ONS_2", "CKV_ONS_3", "CKV_ONS_6"):
        assert (policy, "aws_timestreaminfluxdb_db_instance") in passed
        assert (policy, "aws_timestreaminfluxdb_db_cluster") in passed
    assert ("CKV_ONS_4", "aws_vpc_security_group_ingress_rule") in passed
    assert ("CKV_ONS_5", "aws_lb") in passed


def test_every_load_balancer_is_internal_and_its_listener_passes_the_tls_checks(
    infra_report: dict[str, Any],
) -> None:
    """Passed, not merely absent from the failures: checkov skips a check it cannot resolve (a
    TLS policy passed through a variable), and a skipped check fails nothing."""
    passed = {(c["check_id"], c["resource"]) for c in infra_report["results"]["passed_checks"]}
    for balancer in LOAD_BALANCERS:
        assert ("CKV_ONS_5", f"{balancer}.aws_lb.this") in passed, balancer
        for check in LISTENER_CHECKS:
            assert (check, f"{balancer}.aws_lb_listener.https") in passed, (balancer, check)


@pytest.mark.parametrize("policy", sorted(EXPECTED))
def test_custom_policy_fails_on_bad_and_passes_on_good(
    policy: str, fixtures_report: dict[str, Any]
) -> None:
    bad, good = EXPECTED[policy]
    failed = _verdicts(fixtures_report, "failed_checks")
    passed = _verdicts(fixtures_report, "passed_checks")
    assert {r for p, r, d in failed if p == policy and d == "bad"} == bad
    assert not {r for p, r, d in failed if p == policy and d == "good"}
    assert {r for p, r, d in passed if p == policy and d == "good"} == good
    # Each bad snippet breaks only the policy it was written for.
    others = {r for p, r, d in failed if p != policy and d == "bad"}
    assert not bad & others


def test_every_checkov_skip_gives_a_reason() -> None:
    skips = []
    for path in sorted(INFRA_DIR.rglob("*.tf")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = SKIP_RE.search(line)
            if match:
                skips.append((path, number, match.group(1), (match.group(2) or "").strip()))
    assert skips
    for path, number, check_id, reason in skips:
        assert len(reason) >= 30, (
            f"{path.relative_to(INFRA_DIR)}:{number}: {check_id} needs a reason"
        )
        assert not check_id.startswith("CKV_ONS_"), "the custom policies are never skipped"

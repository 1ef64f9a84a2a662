"""The query API's deployment (modules/api, the shared modules/alb, their wiring in the root), read
from the HCL with python-hcl2, and checked against the code it deploys (``ons-pipeline serve``,
``GET /health``): no provider, no network.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import os
import re
from typing import Any

import pytest

from ons_pipeline_tests.infra.hcl import (
    ENVS,
    MODULES_DIR,
    ROOT_DIR,
    all_modules,
    as_list,
    first,
    instances,
    module,
    resolve_local,
    statements,
    tfvars,
)

OPEN_CIDRS = {"0.0.0.0/0", "::/0"}
SECRET_NAME = re.compile(r"(?i)(password|passwd|token|secret|key|credential)")


def api() -> Any:
    return module(MODULES_DIR / "api")


def alb() -> Any:
    return module(MODULES_DIR / "alb")


def root() -> Any:
    return module(ROOT_DIR)


def container_definitions() -> str:
    return api().of_type("aws_ecs_task_definition")["api"]["container_definitions"]


def alb_calls() -> dict[tuple[str, str], dict[str, Any]]:
    """Every call of modules/alb, by (calling module, call name)."""
    return {
        (mod.path.name, name): call
        for mod in all_modules()
        for name, call in mod.modules.items()
        if call["source"] == "../alb"
    }


# Load balancer: internal, HTTPS only, TLS 1.2+ -------------------------------------------------


def test_both_load_balancers_are_the_shared_internal_https_only_module() -> None:
    assert set(alb_calls()) == {("dagster", "ui_alb"), ("api", "alb")}
    lb = alb().of_type("aws_lb")["this"]
    assert lb["internal"] is True
    assert lb["load_balancer_type"] == "application"
    assert lb["subnets"] == "${var.subnet_ids}"
    assert lb["security_groups"] == ["${aws_security_group.this.id}"]
    # The one listener of the project: HTTPS on 443. No HTTP listener, so nothing answers on 80.
    listeners = [
        (mod.path.name, name, body)
        for mod in all_modules()
        for name, body in mod.of_type("aws_lb_listener").items()
    ]
    assert [(where, name) for where, name, _ in listeners] == [("alb", "https")]
    https = listeners[0][2]
    assert https["protocol"] == "HTTPS"
    assert https["port"] == 443
    assert https["certificate_arn"] == "${var.certificate_arn}"
    assert https["ssl_policy"] == "${var.ssl_policy}"
    action = first(https["default_action"])
    assert action["type"] == "forward"
    assert action["target_group_arn"] == "${aws_lb_target_group.this.arn}"
    # The load balancer's security group takes 443 only.
    ingress = alb().of_type("aws_vpc_security_group_ingress_rule")["https"]
    assert ingress["security_group_id"] == "${aws_security_group.this.id}"
    assert ingress["from_port"] == ingress["to_port"] == 443
    # The API's certificate is an input every environment sets.
    assert api().modules["alb"]["certificate_arn"] == "${var.certificate_arn}"
    assert root().modules["api"]["certificate_arn"] == "${var.api_certificate_arn}"


def _ssl_policy_pattern() -> re.Pattern[str]:
    validation = first(alb().variables["ssl_policy"]["validation"])
    match = re.fullmatch(r'\$\{can\(regex\("(.+)", var\.ssl_policy\)\)\}', validation["condition"])
    assert match, validation["condition"]
    return re.compile(match.group(1))


@pytest.mark.parametrize(
    ("policy", "allowed"),
    [
        ("ELBSecurityPolicy-TLS13-1-2-2021-06", True),
        ("ELBSecurityPolicy-TLS13-1-2-Res-2021-06", True),
        ("ELBSecurityPolicy-TLS13-1-3-2021-06", True),
        ("ELBSecurityPolicy-TLS-1-2-Ext-2018-06", True),
        ("ELBSecurityPolicy-FS-1-2-Res-2020-10", True),
        ("ELBSecurityPolicy-2016-08", False),  # the console's old default: TLS 1.0
        ("ELBSecurityPolicy-TLS-1-1-2017-01", False),
        ("ELBSecurityPolicy-TLS13-1-1-2021-06", False),
        ("ELBSecurityPolicy-TLS13-1-0-2021-06", False),
        ("ELBSecurityPolicy-FS-2018-06", False),
    ],
)
def test_the_listener_policy_allows_tls_1_2_or_later_only(policy: str, allowed: bool) -> None:
    assert bool(_ssl_policy_pattern().match(policy)) is allowed


def test_the_default_policy_is_modern_and_no_caller_overrides_it() -> None:
    """Both load balancers use the module's default, a TLS 1.3/1.2 policy; passing a variable
    through instead would also hide the listener from checkov's TLS check (test_checkov)."""
    default = alb().variables["ssl_policy"]["default"]
    assert default == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert _ssl_policy_pattern().match(default)
    for (where, name), call in alb_calls().items():
        assert "ssl_policy" not in call, f"{where}: module {name} overrides the TLS policy"


# Health check ------------------------------------------------------------------------------------


def test_the_target_group_health_check_is_the_open_health_route() -> None:
    group = alb().of_type("aws_lb_target_group")["this"]
    check = first(group["health_check"])
    assert check["path"] == "${var.health_check.path}"
    assert check["matcher"] == "${var.health_check.matcher}"
    assert group["protocol"] == "HTTP"
    assert group["target_type"] == "ip"  # Fargate tasks (awsvpc)
    assert group["port"] == "${var.target_port}"
    call = api().modules["alb"]
    assert call["health_check"]["path"] == "/health"
    assert "matcher" not in call["health_check"]
    assert re.search(
        r'matcher\s*=\s*optional\(string,\s*"200"\)', alb().variables["health_check"]["type"]
    )
    # The check must outlast the app's InfluxDB ping, which /health waits for.
    from ons_pipeline.lib.query.backend import InfluxBackend

    ping_timeout = inspect.signature(InfluxBackend.ping).parameters["timeout"].default
    assert call["health_check"]["timeout"] > ping_timeout
    assert call["health_check"]["interval"] > call["health_check"]["timeout"]


def test_health_answers_200_without_a_key_even_when_influxdb_is_down() -> None:
    """What the load balancer relies on: GET /health needs no API key (the health check sends
    none) and answers 200 while InfluxDB is unreachable ("degraded"): an InfluxDB outage must not
    take every API task out of the target group. The data routes stay closed."""
    from fastapi.testclient import TestClient

    from ons_pipeline.api.app import create_app
    from ons_pipeline.lib.settings import Settings

    settings = Settings.from_env(
        {
            "ONS_INFLUX_URL": "http://127.0.0.1:9",  # discard port: nothing listens
            "ONS_API_KEY": "k" * 32,
            "ONS_RAG_EMBEDDER": "hashing",
        }
    )
    path = api().modules["alb"]["health_check"]["path"]
    with TestClient(create_app(settings)) as client:
        response = client.get(path)
        assert response.status_code == 200
        assert response.json()["status"] == "degraded"
        assert client.post("/query", json={}).status_code == 401


# The container: `ons-pipeline serve` on the target port -------------------------------------------


def test_the_container_runs_serve_on_the_port_the_load_balancer_targets() -> None:
    mod = api()
    port = mod.locals["port"]
    assert port == 8000
    text = container_definitions()
    # Literals in the container definition (checkov renders it only then), equal to local.port.
    assert f'command = ["ons-pipeline", "serve", "--host", "0.0.0.0", "--port", "{port}"]' in text
    assert f'portMappings = [{{containerPort = {port}, protocol = "tcp"}}]' in text
    assert "name = local.container_name" in text
    assert mod.modules["alb"]["target_port"] == "${local.port}"
    balancer = first(mod.of_type("aws_ecs_service")["api"]["load_balancer"])
    assert balancer["container_port"] == "${local.port}"
    assert balancer["container_name"] == "${local.container_name}"
    assert balancer["target_group_arn"] == "${module.alb.target_group_arn}"
    # The CLI takes the options the command passes.
    from ons_pipeline.cli.main import main

    serve = main.commands["serve"]
    assert {p.name for p in serve.params} >= {"host", "port"}


def test_serve_refuses_a_public_host_without_a_key() -> None:
    """Why ONS_API_KEY must be injected: on 0.0.0.0 without it, the task stops at start instead
    of serving (the data routes would otherwise answer 401 to everyone)."""
    from click.testing import CliRunner

    from ons_pipeline.cli.main import main

    result = CliRunner(env={"ONS_API_KEY": None}).invoke(
        main, ["serve", "--host", "0.0.0.0", "--port", "8000"]
    )
    assert result.exit_code != 0
    assert "refusing to serve on 0.0.0.0 without ONS_API_KEY" in result.output


# Secrets -----------------------------------------------------------------------------------------


def test_the_api_key_comes_from_secrets_manager_never_a_literal() -> None:
    mod = api()
    assert mod.locals["secret_arns"] == (
        "${merge(var.container_secret_arns, {"
        "ONS_API_KEY = aws_secretsmanager_secret.api_key.arn, "
        "ONS_API_FINGERPRINT_KEY = aws_secretsmanager_secret.fingerprint_key.arn})}"
    )
    text = container_definitions()
    assert "secrets = [for k, arn in local.secret_arns : {name = k, valueFrom = arn}]" in text
    assert "environment = [for k, v in local.environment : {name = k, value = v}]" in text
    assert "ONS_API_KEY" not in mod.locals["environment"]
    assert "ONS_API_KEY" not in text
    # The key is generated, never written: the secret version holds random_password's result,
    # and Terraform leaves it alone once an operator replaces it.
    version = mod.of_type("aws_secretsmanager_secret_version")["api_key"]
    assert version["secret_id"] == "${aws_secretsmanager_secret.api_key.id}"
    assert version["secret_string"] == "${random_password.api_key.result}"
    assert first(version["lifecycle"])["ignore_changes"] == ["secret_string"]
    generated = mod.of_type("random_password")["api_key"]
    assert generated["length"] >= 32
    assert generated["special"] is False  # header-safe
    secret = mod.of_type("aws_secretsmanager_secret")["api_key"]
    assert secret["kms_key_id"] == "${var.kms_key_arn}"
    assert not [name for name in mod.variables if SECRET_NAME.search(name) and "arn" not in name]


def test_the_api_environment_holds_no_secret_and_influxdb_reads_with_its_own_token() -> None:
    validation = first(api().variables["container_environment"]["validation"])
    assert "password|token|secret|key" in validation["condition"]
    call = root().modules["api"]
    assert call["container_environment"] == (
        "${merge(local.influx_environment, local.api_environment)}"
    )
    environment = resolve_local(root(), call["container_environment"])
    assert not [k for k in environment if SECRET_NAME.search(k) and not k.endswith("_ID")]
    assert environment["ONS_INFLUX_AUTH"] == "token"
    assert environment["ONS_INFLUX_VERIFY_TLS"] == "true"
    assert environment["ONS_INFLUX_URL"] == "${module.influxdb.url}"
    # Not the admin secret: the API tasks get no ONS_INFLUX_SECRET_ARN and no GetSecretValue.
    assert "ONS_INFLUX_SECRET_ARN" not in environment
    assert call["container_secret_arns"] == {
        "ONS_INFLUX_TOKEN": "${module.influxdb.api_token_secret_arn}"
    }
    tokens = module(MODULES_DIR / "influxdb").locals["token_secrets"]
    assert set(tokens) == {"pipeline", "api"}
    assert "Read-only" in tokens["api"]


def injected_secrets() -> dict[str, str]:
    """The API container's secrets, name => secret ARN expression: the root's
    ``container_secret_arns`` merged with the map ``local.secret_arns`` adds to it."""
    match = re.fullmatch(
        r"\$\{merge\(var\.container_secret_arns, \{(.*)\}\)\}", api().locals["secret_arns"]
    )
    assert match, api().locals["secret_arns"]
    own = dict(re.findall(r"([A-Z][A-Z0-9_]*) = ([\w.\[\]\"]+)", match.group(1)))
    return {
        **root().modules["api"]["container_secret_arns"],
        **{k: f"${{{v}}}" for k, v in own.items()},
    }


def test_the_fingerprint_key_comes_from_secrets_manager_and_the_execution_role_reads_it() -> None:
    """ONS_API_FINGERPRINT_KEY keys the API keys' fingerprints in the security events. Unset,
    each task draws a random one and the events of one key no longer correlate across tasks; so
    every task gets the same one, from its own generated secret (never a literal, never an
    environment value), which the execution role may read."""
    mod = api()
    secrets = injected_secrets()
    assert secrets["ONS_API_FINGERPRINT_KEY"] == "${aws_secretsmanager_secret.fingerprint_key.arn}"
    # Its own secret, not the API key's: the API key must never be the fingerprint key.
    assert secrets["ONS_API_FINGERPRINT_KEY"] != secrets["ONS_API_KEY"]
    text = container_definitions()
    assert "secrets = [for k, arn in local.secret_arns : {name = k, valueFrom = arn}]" in text
    assert "ONS_API_FINGERPRINT_KEY" not in text
    assert "ONS_API_FINGERPRINT_KEY" not in mod.locals["environment"]
    call = root().modules["api"]
    assert "ONS_API_FINGERPRINT_KEY" not in resolve_local(root(), call["container_environment"])
    for env in ENVS:
        assert "ONS_API_FINGERPRINT_KEY" not in str(tfvars(env)), env
    # Generated like the API key; Terraform leaves the secret alone once written.
    generated = mod.of_type("random_password")["fingerprint_key"]
    assert generated["length"] >= 32
    assert generated["special"] is False
    version = mod.of_type("aws_secretsmanager_secret_version")["fingerprint_key"]
    assert version["secret_id"] == "${aws_secretsmanager_secret.fingerprint_key.id}"
    assert version["secret_string"] == "${random_password.fingerprint_key.result}"
    assert first(version["lifecycle"])["ignore_changes"] == ["secret_string"]
    secret = mod.of_type("aws_secretsmanager_secret")["fingerprint_key"]
    api_key = mod.of_type("aws_secretsmanager_secret")["api_key"]
    assert secret["kms_key_id"] == "${var.kms_key_arn}"
    assert secret["recovery_window_in_days"] == api_key["recovery_window_in_days"]
    assert secret["name"] == "${var.name}/api/fingerprint-key"
    # Output like the API key's (module and root).
    assert mod.outputs["fingerprint_key_secret_arn"]["value"] == (
        "${aws_secretsmanager_secret.fingerprint_key.arn}"
    )
    assert root().outputs["api_fingerprint_key_secret_arn"]["value"] == (
        "${module.api.fingerprint_key_secret_arn}"
    )
    # The execution role reads every injected secret (and nothing else): this one among them.
    assert mod.outputs["injected_secret_arns"]["value"] == "${values(local.secret_arns)}"
    grants = root().modules["iam"]["execution_grants"]["api_execution"]
    assert grants["secret_arns"] == "${module.api.injected_secret_arns}"
    # The variable the tasks receive is the one the settings read and the app keys with.
    from ons_pipeline.api.app import create_app
    from ons_pipeline.lib.settings import Settings

    settings = Settings.from_env(
        {
            "ONS_API_KEY": "k" * 32,
            "ONS_API_FINGERPRINT_KEY": "f" * 48,
            "ONS_RAG_EMBEDDER": "hashing",
        }
    )
    assert settings.api.fingerprint_key == "f" * 48
    assert create_app(settings).state.key_secret == b"f" * 48


def test_the_execution_role_reads_exactly_the_api_secrets() -> None:
    # Exactly these three, each from Secrets Manager (least privilege: no wildcard, no other).
    assert injected_secrets() == {
        "ONS_INFLUX_TOKEN": "${module.influxdb.api_token_secret_arn}",
        "ONS_API_KEY": "${aws_secretsmanager_secret.api_key.arn}",
        "ONS_API_FINGERPRINT_KEY": "${aws_secretsmanager_secret.fingerprint_key.arn}",
    }
    grants = root().modules["iam"]["execution_grants"]
    assert grants["api_execution"] == {
        "log_group_arns": "${module.api.log_group_arns}",
        "secret_arns": "${module.api.injected_secret_arns}",
    }
    outputs = api().outputs
    assert outputs["injected_secret_arns"]["value"] == "${values(local.secret_arns)}"
    assert outputs["log_group_arns"]["value"] == ["${aws_cloudwatch_log_group.api.arn}"]
    iam = module(MODULES_DIR / "iam")
    document = iam.data_of_type("aws_iam_policy_document")["execution"]
    by_sid = {s["sid"]: s for s in statements(document)}
    assert by_sid["InjectContainerSecrets"]["actions"] == ["secretsmanager:GetSecretValue"]
    assert by_sid["InjectContainerSecrets"]["resources"] == "${each.value.secret_arns}"
    decrypt = by_sid["DecryptSecretsThroughSecretsManager"]
    assert decrypt["resources"] == ["${var.kms_key_arn}"]
    assert first(decrypt["condition"])["variable"] == "kms:ViaService"
    policy = iam.of_type("aws_iam_role_policy")["execution"]
    assert policy["for_each"] == document["for_each"] == "${var.execution_grants}"
    assert policy["role"] == "${aws_iam_role.task[each.key].name}"
    # Its own roles: the API never runs with the Dagster roles; its task role has its own small
    # policy (metrics, Bedrock: test_api_observability.py), never the pipeline's.
    call = root().modules["api"]
    assert call["task_role_arn"] == '${module.iam.task_roles["api"].arn}'
    assert call["execution_role_arn"] == '${module.iam.task_roles["api_execution"].arn}'
    roles = iam.locals["task_roles"]
    assert roles["api"]["pipeline"] is False
    assert roles["api_execution"]["pipeline"] is False
    # Execution grants go to the execution roles only.
    condition = first(iam.variables["execution_grants"]["validation"])["condition"]
    assert '["execution", "api_execution"]' in condition
    assert iam.of_type("aws_iam_role_policy_attachment")["pipeline"]["for_each"] == (
        "${local.pipeline_roles}"
    )


# X-Forwarded-For: believed from the load balancer only ---------------------------------------

_TRUST_THE_ALB_SUBNETS = '${join(",", var.load_balancer_subnet_cidr_blocks)}'


def _forwarded_allow_ips() -> str:
    """FORWARDED_ALLOW_IPS as the module writes it (an expression or a literal)."""
    environment = api().locals["environment"]
    # ``${merge(var.container_environment, {..., FORWARDED_ALLOW_IPS = <value>, ...})}``
    (value,) = re.findall(r"\bFORWARDED_ALLOW_IPS\s*=\s*(.+?)(?:, [A-Z_]+ = |\}\)\}$)", environment)
    value = value.strip()
    return value[1:-1] if value.startswith('"') and value.endswith('"') else f"${{{value}}}"


def _private_subnet_cidrs(env: str) -> list[str]:
    """modules/network's private subnets for an environment: cidrsubnet(vpc, 4, i) per zone."""
    values = tfvars(env)
    vpc = ipaddress.ip_network(values["vpc_cidr_block"])
    subnets = list(vpc.subnets(prefixlen_diff=4))
    return [str(subnets[i]) for i in range(len(values["availability_zones"]))]


def _client_seen_by_uvicorn(trusted: str, peer: str, forwarded_for: str) -> str:
    """The client address uvicorn's ProxyHeadersMiddleware gives the app (what the API's logs and
    security events record) for a request from ``peer`` carrying ``X-Forwarded-For``."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["client"][0])

    scope = {
        "type": "http",
        "scheme": "http",
        "client": (peer, 43210),
        "headers": [(b"x-forwarded-for", forwarded_for.encode())],
    }
    asyncio.run(ProxyHeadersMiddleware(app, trusted_hosts=trusted)(scope, None, None))  # type: ignore[arg-type]
    return seen[0]


def test_uvicorn_believes_x_forwarded_for_from_the_load_balancer_subnets_only() -> None:
    """With every peer trusted ("*") uvicorn takes the leftmost X-Forwarded-For entry, which the
    caller writes; the API's security events then log a forged address. Trusting only the
    subnets the load balancer's nodes are in, it takes the entry the load balancer appended."""
    assert _forwarded_allow_ips() == _TRUST_THE_ALB_SUBNETS
    # Those CIDRs are the load balancer's subnets: the private subnets it is placed in.
    assert api().modules["alb"]["subnet_ids"] == "${var.subnet_ids}"
    call = root().modules["api"]
    assert call["subnet_ids"] == "${module.network.private_subnet_ids}"
    assert call["load_balancer_subnet_cidr_blocks"] == (
        "${module.network.private_subnet_cidr_blocks}"
    )
    network = module(MODULES_DIR / "network")
    assert network.outputs["private_subnet_cidr_blocks"]["value"] == (
        "${aws_subnet.private[*].cidr_block}"
    )
    assert network.outputs["private_subnet_ids"]["value"] == "${aws_subnet.private[*].id}"
    assert network.of_type("aws_subnet")["private"]["cidr_block"] == (
        "${cidrsubnet(var.cidr_block, 4, count.index)}"
    )
    condition = first(api().variables["load_balancer_subnet_cidr_blocks"]["validation"])
    assert "cidrhost(c, 0)" in condition["condition"]
    assert '"0.0.0.0/0", "::/0"' in condition["condition"]


@pytest.mark.parametrize("env", ENVS)
def test_a_forged_x_forwarded_for_does_not_reach_the_security_events(env: str) -> None:
    """What uvicorn (the installed one: it must understand CIDRs, 0.31+) makes of the header the
    load balancer forwards: the caller's own entries, then the address it saw, appended."""
    cidrs = _private_subnet_cidrs(env)
    value = _forwarded_allow_ips()
    trusted = ",".join(cidrs) if value == _TRUST_THE_ALB_SUBNETS else value
    balancer = str(ipaddress.ip_network(cidrs[-1])[37])  # a load balancer node
    # A caller on the VPN forging an address, even one of the VPC: the one the load balancer saw
    # (appended on the right) wins.
    forged = str(ipaddress.ip_network(cidrs[0])[10])
    for header in (f"{forged}, 198.51.100.7", f"203.0.113.1, {forged}, 198.51.100.7"):
        assert _client_seen_by_uvicorn(trusted, balancer, header) == "198.51.100.7", header
    assert _client_seen_by_uvicorn(trusted, balancer, "198.51.100.7") == "198.51.100.7"
    # A peer that is not the load balancer is believed about nothing.
    assert _client_seen_by_uvicorn(trusted, "198.51.100.9", "10.0.0.1") == "198.51.100.9"
    # uvicorn reads FORWARDED_ALLOW_IPS from the environment: `serve` passes no value of its own.
    import uvicorn

    old = os.environ.get("FORWARDED_ALLOW_IPS")
    os.environ["FORWARDED_ALLOW_IPS"] = trusted
    try:
        config = uvicorn.Config(app=None)  # type: ignore[arg-type]
        assert config.forwarded_allow_ips == trusted
        assert config.proxy_headers is True
    finally:
        if old is None:
            del os.environ["FORWARDED_ALLOW_IPS"]
        else:
            os.environ["FORWARDED_ALLOW_IPS"] = old


# Security groups ---------------------------------------------------------------------------------


def test_the_api_load_balancer_admits_only_the_vpc_and_the_allowed_ranges() -> None:
    assert api().modules["alb"]["allowed_cidr_blocks"] == "${var.allowed_cidr_blocks}"
    assert root().modules["api"]["allowed_cidr_blocks"] == (
        "${distinct(concat([var.vpc_cidr_block], var.api_allowed_cidr_blocks))}"
    )
    for env in ENVS:
        values = tfvars(env)
        assert not set(values.get("api_allowed_cidr_blocks", [])) & OPEN_CIDRS, env
        assert values["vpc_cidr_block"] not in OPEN_CIDRS
    # Its only egress: the targets, on the target port.
    egress = alb().of_type("aws_vpc_security_group_egress_rule")
    assert set(egress) == {"to_targets"}
    assert egress["to_targets"]["referenced_security_group_id"] == "${var.target_security_group_id}"
    assert egress["to_targets"]["from_port"] == egress["to_targets"]["to_port"]
    assert egress["to_targets"]["from_port"] == "${var.target_port}"


def test_the_api_tasks_admit_only_the_load_balancer() -> None:
    mod = api()
    group = mod.of_type("aws_security_group")["tasks"]
    assert "ingress" not in group and "egress" not in group
    assert not mod.of_type("aws_vpc_security_group_ingress_rule")
    assert not mod.of_type("aws_security_group_rule")
    # The tasks' one ingress rule lives in modules/alb: the target port, from its security group.
    assert mod.modules["alb"]["target_security_group_id"] == "${aws_security_group.tasks.id}"
    rule = alb().of_type("aws_vpc_security_group_ingress_rule")["targets_from_alb"]
    assert rule["security_group_id"] == "${var.target_security_group_id}"
    assert rule["referenced_security_group_id"] == "${aws_security_group.this.id}"
    assert rule["from_port"] == rule["to_port"] == "${var.target_port}"
    assert not {"cidr_ipv4", "cidr_ipv6", "prefix_list_id"} & set(rule)
    network = first(mod.of_type("aws_ecs_service")["api"]["network_configuration"])
    assert network["security_groups"] == ["${aws_security_group.tasks.id}"]
    assert network["assign_public_ip"] is False


def test_the_api_tasks_reach_influxdb_and_https_only() -> None:
    mod = api()
    egress = instances(mod, mod.of_type("aws_vpc_security_group_egress_rule")["tasks"])
    assert set(egress) == {"influxdb", "https"}
    influx = egress["influxdb"]
    assert influx["referenced_security_group_id"] == "${var.influxdb_security_group_id}"
    assert influx["cidr_ipv4"] is None
    assert influx["from_port"] == influx["to_port"] == "${var.influxdb_port}"
    https = egress["https"]
    assert https["referenced_security_group_id"] is None
    assert https["from_port"] == https["to_port"] == 443
    for rule in egress.values():
        assert rule["security_group_id"] == "${aws_security_group.tasks.id}"
        assert rule["ip_protocol"] == "tcp"
    call = root().modules["api"]
    assert call["influxdb_security_group_id"] == "${module.influxdb.security_group_id}"
    assert call["influxdb_port"] == "${module.influxdb.port}"
    allowed = root().modules["influxdb"]["allowed_security_groups"]
    assert allowed["api_tasks"] == "${module.api.tasks_security_group_id}"


# Autoscaling -------------------------------------------------------------------------------------


def test_autoscaling_tracks_requests_per_target_and_cpu() -> None:
    mod = api()
    target = mod.of_type("aws_appautoscaling_target")["api"]
    assert target["service_namespace"] == "ecs"
    assert target["scalable_dimension"] == "ecs:service:DesiredCount"
    assert target["resource_id"] == "service/${var.cluster_name}/${aws_ecs_service.api.name}"
    assert target["min_capacity"] == "${var.min_tasks}"
    assert target["max_capacity"] == "${var.max_tasks}"
    policies = instances(mod, mod.of_type("aws_appautoscaling_policy")["api"])
    assert set(policies) == {"requests", "cpu"}
    metrics = {}
    for key, policy in policies.items():
        assert policy["policy_type"] == "TargetTrackingScaling", key
        assert policy["resource_id"] == "${aws_appautoscaling_target.api.resource_id}", key
        configuration = first(policy["target_tracking_scaling_policy_configuration"])
        specification = first(configuration["predefined_metric_specification"])
        metrics[key] = (
            specification["predefined_metric_type"],
            specification["resource_label"],
            configuration["target_value"],
        )
    assert metrics == {
        "requests": (
            "ALBRequestCountPerTarget",
            "${module.alb.arn_suffix}/${module.alb.target_group_arn_suffix}",
            "${var.requests_per_target}",
        ),
        "cpu": ("ECSServiceAverageCPUUtilization", None, "${var.cpu_target_percent}"),
    }
    # Terraform sets the count at creation, then leaves it to Application Auto Scaling.
    service = mod.of_type("aws_ecs_service")["api"]
    assert service["desired_count"] == "${var.min_tasks}"
    assert "desired_count" in first(service["lifecycle"])["ignore_changes"]
    assert "var.min_tasks" in first(mod.variables["max_tasks"]["validation"])["condition"]


def test_every_environment_sizes_the_api() -> None:
    call = root().modules["api"]
    assert call["min_tasks"] == "${var.api_min_tasks}"
    assert call["max_tasks"] == "${var.api_max_tasks}"
    required = {v for v, body in root().variables.items() if "default" not in body}
    assert "api_certificate_arn" in required
    for env in ENVS:
        values = tfvars(env)
        low, high = values["api_min_tasks"], values["api_max_tasks"]
        assert 1 <= low <= high, env
        assert re.fullmatch(
            rf"arn:aws:acm:{values['region']}:\d{{12}}:certificate/[0-9a-f-]{{36}}",
            values["api_certificate_arn"],
        ), env
    # Production keeps a task in every zone.
    prod = tfvars("prod")
    assert prod["api_min_tasks"] >= len(prod["availability_zones"])


# Logs and alarms ---------------------------------------------------------------------------------


def test_the_api_logs_to_its_encrypted_log_group() -> None:
    group = api().of_type("aws_cloudwatch_log_group")["api"]
    assert group["kms_key_id"] == "${var.kms_key_arn}"
    assert group["retention_in_days"] == "${var.log_retention_days}"
    assert root().modules["api"]["log_retention_days"] == "${var.log_retention_days}"
    assert '"awslogs-group" = aws_cloudwatch_log_group.api.name' in container_definitions()


def test_the_api_alarms_watch_errors_latency_and_targets() -> None:
    monitoring = module(MODULES_DIR / "monitoring")
    assert monitoring.locals["api_target"] == {
        "LoadBalancer": "${var.api_load_balancer_arn_suffix}",
        "TargetGroup": "${var.api_target_group_arn_suffix}",
    }
    alarms = instances(monitoring, monitoring.of_type("aws_cloudwatch_metric_alarm")["metric"])
    by_metric = {
        body["metric_name"]: body
        for body in alarms.values()
        if body["namespace"] == "AWS/ApplicationELB"
    }
    assert {k for k, body in alarms.items() if body["namespace"] == "AWS/ApplicationELB"} == {
        "api_latency",
        "api_unhealthy_targets",
        "api_no_healthy_target",
        "api_load_balancer_5xx",
    }
    assert set(by_metric) == {
        "TargetResponseTime",
        "UnHealthyHostCount",
        "HealthyHostCount",
        "HTTPCode_ELB_5XX_Count",
    }
    for metric, body in by_metric.items():
        assert body["alarm_name"].startswith("${var.name}-api-"), metric
        expected = (
            {"LoadBalancer": "${var.api_load_balancer_arn_suffix}"}
            if metric == "HTTPCode_ELB_5XX_Count"
            else monitoring.locals["api_target"]
        )
        assert body["dimensions"] == expected, metric
    assert by_metric["TargetResponseTime"]["extended_statistic"] == "p95"
    # The load balancer publishes nothing while no request flows: idle is not down.
    assert {body["treat_missing_data"] for body in by_metric.values()} == {"notBreaching"}
    # The 5xx rate: the tasks' 5xx over the requests of the same target group.
    rate = monitoring.of_type("aws_cloudwatch_metric_alarm")["api_5xx_rate"]
    queries = {q["id"]: q for q in as_list(rate["metric_query"])}
    assert first(queries["errors"]["metric"])["metric_name"] == "HTTPCode_Target_5XX_Count"
    assert first(queries["requests"]["metric"])["metric_name"] == "RequestCount"
    for key in ("errors", "requests"):
        assert first(queries[key]["metric"])["dimensions"] == "${local.api_target}"
    assert queries["rate"]["return_data"] is True
    assert "errors" in queries["rate"]["expression"]
    assert "requests" in queries["rate"]["expression"]
    call = root().modules["monitoring"]
    assert call["api_load_balancer_arn_suffix"] == "${module.api.load_balancer_arn_suffix}"
    assert call["api_target_group_arn_suffix"] == "${module.api.target_group_arn_suffix}"

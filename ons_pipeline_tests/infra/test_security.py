"""Security properties of the Terraform, read from the HCL (python-hcl2), no provider needed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ons_pipeline_tests.infra.hcl import (
    ENVS,
    INFRA_DIR,
    MODULES_DIR,
    ROOT_DIR,
    all_modules,
    as_list,
    instances,
    load,
    module,
    resolve_local,
    tfvars,
    walk_strings,
)
from ons_pipeline_tests.infra.hcl import first as _first
from ons_pipeline_tests.infra.hcl import statements as _statements

OPEN_CIDRS = {"0.0.0.0/0", "::/0"}
INFLUXDB_TYPES = ("aws_timestreaminfluxdb_db_instance", "aws_timestreaminfluxdb_db_cluster")

# Actions AWS offers no resource-level permission for: "*" is the only valid resource. Adding an
# action here is a reviewed decision, not a side effect.
STAR_RESOURCE_ACTIONS = {
    "timestream:DescribeEndpoints",
    "cloudwatch:PutMetricData",  # limited by the cloudwatch:namespace condition (tested below)
    "ecs:DescribeTaskDefinition",
    "ec2:DescribeNetworkInterfaces",
    "ecr:GetAuthorizationToken",
}


def _resources(type_: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (mod.path.name, name, body)
        for mod in all_modules()
        for name, body in mod.of_type(type_).items()
    ]


def _policy_documents() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (mod.path.name, name, body)
        for mod in all_modules()
        for name, body in mod.data_of_type("aws_iam_policy_document").items()
    ]


# Timestream for InfluxDB ------------------------------------------------------------------------


def test_influxdb_resources_exist_for_both_engines() -> None:
    influx = module(MODULES_DIR / "influxdb")
    assert set(influx.of_type("aws_timestreaminfluxdb_db_instance")) == {"this"}
    assert set(influx.of_type("aws_timestreaminfluxdb_db_cluster")) == {"this"}
    assert (
        influx.of_type("aws_timestreaminfluxdb_db_instance")["this"]["count"]
        == "${local.is_v2 ? 1 : 0}"
    )
    assert (
        influx.of_type("aws_timestreaminfluxdb_db_cluster")["this"]["count"]
        == "${local.is_v3 ? 1 : 0}"
    )


@pytest.mark.parametrize("type_", INFLUXDB_TYPES)
def test_influxdb_never_publicly_accessible(type_: str) -> None:
    found = _resources(type_)
    assert found, f"no {type_} in infra/"
    for where, name, body in found:
        assert body.get("publicly_accessible") is False, f"{where}: {type_}.{name}"


@pytest.mark.parametrize("type_", INFLUXDB_TYPES)
def test_influxdb_engine_logs_go_to_s3(type_: str) -> None:
    for where, name, body in _resources(type_):
        s3 = _first(_first(body["log_delivery_configuration"])["s3_configuration"])
        assert s3["enabled"] is True, f"{where}: {type_}.{name}"
        assert s3["bucket_name"] == "${var.log_bucket_name}"


@pytest.mark.parametrize("type_", INFLUXDB_TYPES)
def test_influxdb_in_private_subnets_behind_its_own_security_group(type_: str) -> None:
    for _, _, body in _resources(type_):
        assert body["vpc_security_group_ids"] == ["${aws_security_group.influxdb.id}"]
        assert body["vpc_subnet_ids"] == "${var.subnet_ids}"
    root = module(ROOT_DIR)
    assert root.modules["influxdb"]["subnet_ids"] == "${module.network.private_subnet_ids}"


@pytest.mark.parametrize("type_", INFLUXDB_TYPES)
def test_influxdb_is_never_destroyed_by_terraform(type_: str) -> None:
    """The service takes no snapshots: a destroy, an engine switch or a forced replacement would
    delete every migrated point. prevent_destroy makes Terraform refuse the plan; it must be the
    literal true (Terraform allows no variable there), in every environment."""
    found = _resources(type_)
    assert found, f"no {type_} in infra/"
    for where, name, body in found:
        lifecycle = _first(body.get("lifecycle"))
        assert isinstance(lifecycle, dict), f"{where}: {type_}.{name} has no lifecycle block"
        assert lifecycle.get("prevent_destroy") is True, f"{where}: {type_}.{name}"


def test_the_readme_says_how_to_remove_an_environment_deliberately() -> None:
    text = (INFRA_DIR / "README.md").read_text(encoding="utf-8")
    start = text.index("**Destroying an environment.**")
    section = text[start : text.index("\n\n", start)]
    for needed in ("prevent_destroy", "modules/influxdb/main.tf", "no snapshots", "state rm"):
        assert needed in section, needed


def test_influxdb_admin_password_is_generated_never_literal() -> None:
    influx = module(MODULES_DIR / "influxdb")
    instance = influx.of_type("aws_timestreaminfluxdb_db_instance")["this"]
    assert instance["password"] == "${random_password.admin[0].result}"
    generated = influx.of_type("random_password")["admin"]
    assert generated["special"] is False  # the service accepts [a-zA-Z0-9] only
    assert 8 <= generated["length"] <= 64
    cluster = influx.of_type("aws_timestreaminfluxdb_db_cluster")["this"]
    assert "password" not in cluster  # V3: the service creates an admin token
    assert "password" not in influx.variables


def test_influxdb_security_group_admits_only_the_tasks_security_group() -> None:
    influx = module(MODULES_DIR / "influxdb")
    group = influx.of_type("aws_security_group")["influxdb"]
    assert "ingress" not in group and "egress" not in group
    assert not influx.of_type("aws_security_group_rule")
    rules = influx.of_type("aws_vpc_security_group_ingress_rule")
    assert set(rules) == {"influxdb"}
    rule = rules["influxdb"]
    assert rule["security_group_id"] == "${aws_security_group.influxdb.id}"
    assert rule["referenced_security_group_id"] == "${each.value}"
    assert rule["for_each"] == "${var.allowed_security_groups}"
    assert not {"cidr_ipv4", "cidr_ipv6", "prefix_list_id"} & set(rule)
    assert rule["ip_protocol"] == "tcp"
    assert rule["from_port"] == rule["to_port"] == "${local.port}"
    assert influx.locals["port"] == "${coalesce(var.port, local.is_v2 ? 8086 : 8181)}"
    # ... and the only allowed groups are the Dagster tasks' and the query API tasks'.
    root = module(ROOT_DIR)
    assert root.modules["influxdb"]["allowed_security_groups"] == {
        "pipeline_tasks": "${module.dagster.tasks_security_group_id}",
        "api_tasks": "${module.api.tasks_security_group_id}",
    }


def test_tasks_reach_influxdb_on_its_port_only() -> None:
    dagster = module(MODULES_DIR / "dagster")
    rules = instances(dagster, dagster.of_type("aws_vpc_security_group_egress_rule")["tasks"])
    assert set(rules) == {"influxdb", "postgres", "https"}
    egress = rules["influxdb"]
    assert egress["security_group_id"] == "${aws_security_group.tasks.id}"
    assert egress["referenced_security_group_id"] == "${var.influxdb_security_group_id}"
    assert egress["cidr_ipv4"] is None
    assert egress["from_port"] == egress["to_port"] == "${var.influxdb_port}"
    root = module(ROOT_DIR)
    assert root.modules["dagster"]["influxdb_port"] == "${module.influxdb.port}"


# Security groups: no ingress from the internet ----------------------------------------------------


def test_no_ingress_from_the_internet_anywhere() -> None:
    for where, name, group in _resources("aws_security_group"):
        for rule in as_list(group.get("ingress")):
            cidrs = set(as_list(rule.get("cidr_blocks"))) | set(
                as_list(rule.get("ipv6_cidr_blocks"))
            )
            assert not cidrs & OPEN_CIDRS, f"{where}: aws_security_group.{name}"
    for where, name, rule in _resources("aws_security_group_rule"):
        if rule.get("type") == "ingress":
            cidrs = set(as_list(rule.get("cidr_blocks"))) | set(
                as_list(rule.get("ipv6_cidr_blocks"))
            )
            assert not cidrs & OPEN_CIDRS, f"{where}: aws_security_group_rule.{name}"
    ingress = _resources("aws_vpc_security_group_ingress_rule")
    assert ingress
    for where, name, rule in ingress:
        assert rule.get("cidr_ipv4") not in OPEN_CIDRS, f"{where}: {name}"
        assert rule.get("cidr_ipv6") not in OPEN_CIDRS, f"{where}: {name}"


def test_only_the_load_balancers_take_cidr_ingress_and_never_the_internet() -> None:
    """CIDR ingress exists only on the load balancers' security group (modules/alb, used by the
    Dagster UI and the query API), on 443, from ranges a validation keeps off the internet."""
    for where, name, rule in _resources("aws_vpc_security_group_ingress_rule"):
        if "cidr_ipv4" in rule or "cidr_ipv6" in rule:
            assert (where, name) == ("alb", "https")
            assert rule["cidr_ipv4"] == "${each.value}"
            assert rule["for_each"] == "${toset(var.allowed_cidr_blocks)}"
            assert rule["from_port"] == rule["to_port"] == 443
        else:
            assert "referenced_security_group_id" in rule, f"{where}: {name}"
    variable = module(MODULES_DIR / "alb").variables["allowed_cidr_blocks"]
    assert "0.0.0.0/0" in str(variable["validation"]), "the variable must reject 0.0.0.0/0"
    assert "::/0" in str(variable["validation"])
    for env in ENVS:
        for name in ("ui_allowed_cidr_blocks", "api_allowed_cidr_blocks"):
            assert not set(tfvars(env).get(name, [])) & OPEN_CIDRS, f"{env}: {name}"
    balancers = _resources("aws_lb")
    assert [(where, name) for where, name, _ in balancers] == [("alb", "this")]
    for _, _, alb in balancers:
        assert alb["internal"] is True
        assert alb["drop_invalid_header_fields"] is True


def test_rds_admits_only_the_tasks_security_group() -> None:
    dagster = module(MODULES_DIR / "dagster")
    rules = {
        name: rule
        for name, rule in dagster.of_type("aws_vpc_security_group_ingress_rule").items()
        if rule["security_group_id"] == "${aws_security_group.rds.id}"
    }
    assert set(rules) == {"rds_from_tasks"}
    rule = rules["rds_from_tasks"]
    assert rule["referenced_security_group_id"] == "${aws_security_group.tasks.id}"
    assert rule["from_port"] == rule["to_port"] == 5432


def test_tasks_security_group_has_no_ingress() -> None:
    dagster = module(MODULES_DIR / "dagster")
    for rule in dagster.of_type("aws_vpc_security_group_ingress_rule").values():
        assert rule["security_group_id"] != "${aws_security_group.tasks.id}"
    assert "ingress" not in dagster.of_type("aws_security_group")["tasks"]


def test_default_security_group_is_emptied_and_subnets_private() -> None:
    network = module(MODULES_DIR / "network")
    default = network.of_type("aws_default_security_group")["this"]
    assert "ingress" not in default and "egress" not in default
    for subnet in network.of_type("aws_subnet").values():
        assert subnet["map_public_ip_on_launch"] is False
    assert network.of_type("aws_flow_log")["this"]["traffic_type"] == "ALL"


def test_ecs_services_get_no_public_ip() -> None:
    dagster = module(MODULES_DIR / "dagster")
    services = dagster.of_type("aws_ecs_service")
    assert set(services) == {"webserver", "daemon"}
    api = module(MODULES_DIR / "api").of_type("aws_ecs_service")
    assert set(api) == {"api"}
    for name, service in {**services, **api}.items():
        network = _first(service["network_configuration"])
        assert network["assign_public_ip"] is False, name
        assert network["subnets"] == "${var.subnet_ids}"
    daemon = services["daemon"]
    assert daemon["desired_count"] == 1
    assert daemon["deployment_maximum_percent"] == 100  # never two daemons at once


# S3 -----------------------------------------------------------------------------------------------


def _bucket_settings(storage: Any, type_: str) -> dict[str, dict[str, Any]]:
    """Resource body by the bucket it configures (aws_s3_bucket.<name>.id -> name), for_each
    instances expanded; each bucket is configured once."""
    out: dict[str, dict[str, Any]] = {}
    for name, body in storage.of_type(type_).items():
        for key, instance in instances(storage, body).items():
            match = re.fullmatch(r"\$\{aws_s3_bucket\.([a-z_]+)\.id\}", instance["bucket"])
            assert match, f"{type_}.{name}[{key}]: {instance['bucket']}"
            assert match.group(1) not in out, f"{type_}: {match.group(1)} configured twice"
            out[match.group(1)] = {**instance, "__key__": key, "__name__": name}
    return out


def _bucket_policy_statements(storage: Any, bucket: str) -> list[dict[str, Any]]:
    """Statements of the policy attached to ``bucket``, source_policy_documents included."""
    policy = _bucket_settings(storage, "aws_s3_bucket_policy")[bucket]
    match = re.fullmatch(
        r"\$\{data\.aws_iam_policy_document\.([a-z_]+)(\[each\.key\])?\.json\}", policy["policy"]
    )
    assert match, f"{bucket}: {policy['policy']}"
    document = storage.data_of_type("aws_iam_policy_document")[match.group(1)]
    if match.group(2):  # the document is for_each over the same map as the policy resource
        resource = storage.of_type("aws_s3_bucket_policy")[policy["__name__"]]
        assert document["for_each"] == resource["for_each"], bucket
        document = instances(storage, document)[policy["__key__"]]
    statements = _statements(document)
    sources = document.get("source_policy_documents")
    by_key = re.fullmatch(r"\$\{local\.([a-z_]+)\[each\.key\]\}", str(sources))
    if by_key:  # a map of source documents, keyed like the bucket policies
        sources = storage.locals[by_key.group(1)][policy["__key__"]]
    for source in as_list(sources):
        found = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([a-z_]+)\.json\}", source)
        assert found, f"{bucket}: source policy {source}"
        statements += _statements(storage.data_of_type("aws_iam_policy_document")[found[1]])
    return statements


def test_buckets_encrypted_versioned_public_access_blocked_tls_only() -> None:
    storage = module(MODULES_DIR / "storage")
    buckets = set(storage.of_type("aws_s3_bucket"))
    assert buckets == {"data", "influxdb_logs", "access_logs"}
    assert _resources("aws_s3_bucket") == [
        ("storage", b, storage.of_type("aws_s3_bucket")[b])
        for b in storage.of_type("aws_s3_bucket")
    ]

    encryption = _bucket_settings(storage, "aws_s3_bucket_server_side_encryption_configuration")
    versioning = _bucket_settings(storage, "aws_s3_bucket_versioning")
    blocks = _bucket_settings(storage, "aws_s3_bucket_public_access_block")
    ownership = _bucket_settings(storage, "aws_s3_bucket_ownership_controls")
    lifecycle = _bucket_settings(storage, "aws_s3_bucket_lifecycle_configuration")
    for bucket in buckets:
        rule = _first(_first(encryption[bucket]["rule"])["apply_server_side_encryption_by_default"])
        assert rule["sse_algorithm"] in {"aws:kms", "AES256"}, bucket
        assert _first(versioning[bucket]["versioning_configuration"])["status"] == "Enabled", bucket
        block = blocks[bucket]
        for flag in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ):
            assert block[flag] is True, f"{bucket}: {flag}"
        assert _first(ownership[bucket]["rule"])["object_ownership"] == "BucketOwnerEnforced"
        assert bucket in lifecycle, bucket
        statements = _bucket_policy_statements(storage, bucket)
        deny = [s for s in statements if s.get("sid") == "DenyInsecureTransport"]
        assert len(deny) == 1 and deny[0]["effect"] == "Deny", bucket
        assert _first(deny[0]["condition"])["variable"] == "aws:SecureTransport"
        assert _first(deny[0]["condition"])["values"] == ["false"]
        assert deny[0]["resources"] == [
            f"${{aws_s3_bucket.{bucket}.arn}}",
            f"${{aws_s3_bucket.{bucket}.arn}}/*",
        ], f"{bucket}: the TLS-only statement covers another bucket"
    data_rule = _first(
        _first(encryption["data"]["rule"])["apply_server_side_encryption_by_default"]
    )
    assert data_rule["sse_algorithm"] == "aws:kms"
    assert data_rule["kms_master_key_id"] == "${var.kms_key_arn}"
    # Every bucket but the access-log bucket logs its requests to the access-log bucket.
    logging = _bucket_settings(storage, "aws_s3_bucket_logging")
    assert set(logging) == buckets - {"access_logs"}
    for bucket, settings in logging.items():
        assert settings["target_bucket"] == "${aws_s3_bucket.access_logs.id}", bucket
        assert settings["target_prefix"] == f"s3/${{var.{bucket}_bucket_name}}/", bucket


def test_data_bucket_lifecycle_expires_unload_and_deadletter() -> None:
    storage = module(MODULES_DIR / "storage")
    rules = as_list(
        _bucket_settings(storage, "aws_s3_bucket_lifecycle_configuration")["data"]["rule"]
    )
    by_prefix = {_first(r["filter"]).get("prefix"): r for r in rules}
    unload = by_prefix["${local.prefixes.unload}/"]
    assert unload["status"] == "Enabled"
    assert _first(unload["expiration"])["days"] == "${var.unload_expiration_days}"
    deadletter = by_prefix["${local.prefixes.deadletter}/"]
    assert deadletter["status"] == "Enabled"
    assert _first(deadletter["expiration"])["days"] == "${var.deadletter_expiration_days}"
    for rule in rules:
        assert "abort_incomplete_multipart_upload" in rule


def test_influxdb_log_bucket_lets_the_service_deliver() -> None:
    storage = module(MODULES_DIR / "storage")
    statements = _bucket_policy_statements(storage, "influxdb_logs")
    allow = [s for s in statements if s.get("effect") == "Allow"]
    assert len(allow) == 1
    assert allow[0]["actions"] == ["s3:PutObject"]
    assert _first(allow[0]["principals"])["identifiers"] == ["timestream-influxdb.amazonaws.com"]
    assert allow[0]["resources"] == ["${aws_s3_bucket.influxdb_logs.arn}/*"]
    assert not [s for s in _bucket_policy_statements(storage, "data") if s["effect"] == "Allow"]


# IAM ----------------------------------------------------------------------------------------------


def test_every_policy_is_a_checked_policy_document() -> None:
    """No inline JSON policy escapes the document checks below."""
    documents = r"\$\{data\.aws_iam_policy_document\.([a-z_]+)(\[each\.key\])?\.json\}"
    for mod in all_modules():
        for (type_, name), body in mod.resources.items():
            for attribute in ("policy", "assume_role_policy"):
                if attribute in body:
                    match = re.fullmatch(documents, body[attribute])
                    assert match, f"{mod.path.name}: {type_}.{name}.{attribute}"
                    if match.group(2):  # one document per instance, over the same map
                        document = mod.data_of_type("aws_iam_policy_document")[match.group(1)]
                        assert document.get("for_each") == body["for_each"], f"{type_}.{name}"
        for text in mod.texts.values():
            assert '"Action"' not in text and '"Statement"' not in text, mod.path.name


def test_identity_policies_have_no_wildcard_except_where_aws_requires_it() -> None:
    star_actions: set[str] = set()
    for where, name, doc in _policy_documents():
        for statement in _statements(doc):
            if "principals" in statement:
                continue  # resource policies: next test
            actions = as_list(statement.get("actions"))
            resources = as_list(statement.get("resources"))
            assert actions and resources, f"{where}: {name}"
            for action in actions:
                assert "*" not in action, f"{where}: {name}: wildcard action {action}"
            if "*" in resources:
                assert resources == ["*"]
                unexpected = set(actions) - STAR_RESOURCE_ACTIONS
                assert not unexpected, f"{where}: {name}: {sorted(unexpected)} on '*'"
                star_actions.update(actions)
            for resource in resources:
                assert resource == "*" or not resource.endswith(":*:*"), resource
    assert star_actions == STAR_RESOURCE_ACTIONS, "the allowlist lists exactly what is used"


def test_put_metric_data_only_in_the_pipeline_namespace() -> None:
    iam = module(MODULES_DIR / "iam")
    statements = _statements(iam.data_of_type("aws_iam_policy_document")["pipeline"])
    put = [s for s in statements if "cloudwatch:PutMetricData" in as_list(s.get("actions"))]
    assert len(put) == 1
    condition = _first(put[0]["condition"])
    assert condition["test"] == "StringEquals"
    assert condition["variable"] == "cloudwatch:namespace"
    assert condition["values"] == ["${var.metrics_namespace}"]
    assert iam.variables["metrics_namespace"]["default"] == "ONS/Pipeline"
    root = module(ROOT_DIR)
    assert root.variables["pipeline_metrics_namespace"]["default"] == "ONS/Pipeline"


def test_pipeline_policy_grants_exactly_its_prefixes() -> None:
    iam = module(MODULES_DIR / "iam")
    statements = {
        s["sid"]: s for s in _statements(iam.data_of_type("aws_iam_policy_document")["pipeline"])
    }
    assert statements["RawOnsFilesReadOnly"]["actions"] == ["s3:GetObject"]
    s3_object_resources = {
        sid: statement["resources"]
        for sid, statement in statements.items()
        if any(a.startswith("s3:") for a in statement["actions"])
        and sid != "ListOnlyThePipelinePrefixes"
        and sid != "UnloadChecksTheBucketAcl"
    }
    prefixes = {r.split("}/", 1)[1] for rs in s3_object_resources.values() for r in rs}
    assert prefixes == {
        "${local.p.parquet}/*",
        "${local.p.unload}/*",
        "${local.p.raw}/*",
        "${local.p.deadletter}/*",
    }
    listing = _first(statements["ListOnlyThePipelinePrefixes"]["condition"])
    assert listing["variable"] == "s3:prefix"
    assert statements["PublishAlerts"]["actions"] == ["sns:Publish"]
    assert statements["PublishAlerts"]["resources"] == ["${var.alarm_topic_arn}"]
    timestream = statements["TimestreamReadAndUnloadSourceTables"]
    assert timestream["resources"] == "${local.timestream_table_arns}"
    assert "timestream:WriteRecords" not in str(iam.locals["timestream_actions"])
    assert "timestream:Select" in str(iam.locals["timestream_actions"])


def test_no_task_can_read_the_influxdb_admin_secret() -> None:
    """The secret the service creates holds the InfluxDB admin credentials: it is for the operator
    who creates the tokens (infra/README, step 4), never for a task. The Dagster roles (``run``,
    and ``control``: webserver and daemon) read the pipeline token's secret only, and
    ``ONS_INFLUX_SECRET_ARN`` (the code reads it whenever ``ONS_INFLUX_TOKEN`` is empty, as in the
    webserver, which is not injected the token) names that secret too."""
    token = "module.influxdb.pipeline_token_secret_arn"
    iam = module(MODULES_DIR / "iam")
    pipeline = _statements(iam.data_of_type("aws_iam_policy_document")["pipeline"])
    reading = [s for s in pipeline if any(a.startswith("secretsmanager:") for a in s["actions"])]
    assert [s["sid"] for s in reading] == ["ReadThePipelineInfluxDBToken"]
    assert reading[0]["actions"] == ["secretsmanager:GetSecretValue"]
    assert reading[0]["resources"] == "${var.influxdb_secret_arns}"
    assert iam.locals["task_roles"]["run"]["pipeline"] is True
    assert iam.locals["task_roles"]["control"]["pipeline"] is True
    root = module(ROOT_DIR)
    assert root.modules["iam"]["influxdb_secret_arns"] == [f"${{{token}}}"]
    environment = root.modules["dagster"]["container_environment"]
    assert re.findall(r"\bONS_INFLUX_SECRET_ARN\s*=\s*([^,}]+)", environment) == [token]
    # The admin secret's ARN goes to no module and no local: only to the operator's output.
    for name, call in root.modules.items():
        assert not [s for s in walk_strings(call) if "auth_secret_arn" in s], f"module {name}"
    assert not [s for s in walk_strings(root.locals) if "auth_secret_arn" in s]
    assert root.outputs["influxdb_auth_secret_arn"]["value"] == "${module.influxdb.auth_secret_arn}"


def test_resource_policies_never_allow_everyone() -> None:
    for where, name, doc in _policy_documents():
        for statement in _statements(doc):
            if "principals" not in statement:
                continue
            effect = statement.get("effect", "Allow")
            principals = as_list(statement["principals"])
            if effect == "Allow":
                for principal in principals:
                    assert "*" not in as_list(principal["identifiers"]), f"{where}: {name}"
                actions = as_list(statement["actions"])
                if any("*" in a for a in actions) or "*" in as_list(statement.get("resources")):
                    # Only a KMS key policy names "*" (= this key), and only the account root
                    # (AWS's default key policy) may hold kms:*.
                    assert where == "kms" and name == "key_policy", f"{where}: {name}"
                    if "kms:*" in actions:
                        assert principals[0]["identifiers"] == [
                            "arn:${local.partition}:iam::${local.account_id}:root"
                        ]


def test_pass_role_is_limited_to_the_run_roles_and_ecs() -> None:
    dagster = module(MODULES_DIR / "dagster")
    statements = _statements(dagster.data_of_type("aws_iam_policy_document")["run_launcher"])
    pass_role = [s for s in statements if "iam:PassRole" in s["actions"]]
    assert len(pass_role) == 1
    assert pass_role[0]["resources"] == [
        "${var.run_task_role_arn}",
        "${var.execution_role_arn}",
    ]
    call = module(ROOT_DIR).modules["dagster"]
    assert call["run_task_role_arn"] == '${module.iam.task_roles["run"].arn}'
    assert call["execution_role_arn"] == '${module.iam.task_roles["execution"].arn}'
    condition = _first(pass_role[0]["condition"])
    assert condition["variable"] == "iam:PassedToService"
    assert condition["values"] == ["ecs-tasks.amazonaws.com"]
    run_task = next(s for s in statements if "ecs:RunTask" in s["actions"])
    assert _first(run_task["condition"])["variable"] == "ecs:cluster"


def test_task_roles_trust_only_ecs_tasks_of_this_account() -> None:
    iam = module(MODULES_DIR / "iam")
    doc = iam.data_of_type("aws_iam_policy_document")["ecs_tasks_assume"]
    statement = _first(doc["statement"])
    assert _first(statement["principals"])["identifiers"] == ["ecs-tasks.amazonaws.com"]
    variables = {c["variable"] for c in as_list(statement["condition"])}
    assert variables == {"aws:SourceAccount", "aws:SourceArn"}
    roles = {
        key: role
        for body in iam.of_type("aws_iam_role").values()
        for key, role in instances(iam, body).items()
    }
    assert set(roles) == {"run", "control", "execution", "api", "api_execution"}
    for key, role in roles.items():
        assert role["assume_role_policy"] == (
            "${data.aws_iam_policy_document.ecs_tasks_assume.json}"
        ), key
    # Every other role in infra/ trusts a service other than ECS tasks: no second ECS trust.
    for mod in all_modules():
        for name, role in mod.of_type("aws_iam_role").items():
            document = re.fullmatch(
                r"\$\{data\.aws_iam_policy_document\.([a-z_]+)\.json\}", role["assume_role_policy"]
            )
            assert document, f"{mod.path.name}: {name}"
            trust = mod.data_of_type("aws_iam_policy_document")[document[1]]
            principals = _first(_first(trust["statement"])["principals"])["identifiers"]
            if "ecs-tasks.amazonaws.com" in principals:
                assert (mod.path.name, document[1]) == ("iam", "ecs_tasks_assume"), name


# CloudWatch alarms --------------------------------------------------------------------------------


def test_influxdb_alarms_use_the_service_dimension_name() -> None:
    monitoring = module(MODULES_DIR / "monitoring")
    alarms = monitoring.of_type("aws_cloudwatch_metric_alarm")
    influx = alarms["influxdb"]
    assert influx["namespace"] == "${var.influxdb_metrics_namespace}"
    assert influx["dimensions"] == {"DbInstanceName": "${var.influxdb_instance_name}"}
    assert influx["metric_name"] == "${each.value.metric}"
    specs = monitoring.locals["instance_alarm_specs"]
    assert {spec["metric"] for spec in specs.values()} == {
        "CPUUtilization",
        "MemoryUtilization",
        "DiskUtilization",
    }
    assert "var.influxdb_instance_name != null" in monitoring.locals["instance_alarms"]
    root = module(ROOT_DIR)
    assert root.modules["monitoring"]["influxdb_instance_name"] == (
        '${var.influxdb_engine == "v2" ? module.influxdb.name : null}'
    )
    # Nothing anywhere uses another spelling of the dimension.
    for mod in all_modules():
        for text in mod.texts.values():
            assert "DBInstanceIdentifier" not in text and "DbInstanceIdentifier" not in text


def test_pipeline_alarms_cover_the_pipeline_metrics() -> None:
    monitoring = module(MODULES_DIR / "monitoring")
    alarms = [
        instance
        for name, body in monitoring.of_type("aws_cloudwatch_metric_alarm").items()
        if name != "api_endpoint"  # the API's alarms per endpoint: test_api_observability
        for instance in instances(monitoring, body).values()
    ]
    pipeline = {
        body["metric_name"]: body
        for body in alarms
        if body.get("namespace") == "${var.pipeline_metrics_namespace}"
        and not str(body.get("metric_name")).startswith("Api")  # the API's: test_api_observability
    }
    assert set(pipeline) == {"FailedBatches", "PointsPerSecond", "LoadLagSeconds", "CheckFailures"}
    for body in pipeline.values():
        assert body["dimensions"] == "${var.pipeline_metric_dimensions}"
    assert monitoring.variables["pipeline_metrics_namespace"]["default"] == "ONS/Pipeline"


def test_every_alarm_notifies_the_topic() -> None:
    monitoring = module(MODULES_DIR / "monitoring")
    assert monitoring.locals["actions"] == ["${aws_sns_topic.alarms.arn}"]
    for name, alarm in monitoring.of_type("aws_cloudwatch_metric_alarm").items():
        assert alarm["alarm_actions"] == "${local.actions}", name
        assert alarm["ok_actions"] == "${local.actions}", name
    topic = monitoring.of_type("aws_sns_topic")["alarms"]
    assert topic["kms_master_key_id"] == "${var.kms_key_arn}"


# RDS ----------------------------------------------------------------------------------------------


def test_rds_encrypted_private_and_password_managed_by_rds() -> None:
    dagster = module(MODULES_DIR / "dagster")
    databases = dagster.of_type("aws_db_instance")
    assert set(databases) == {"this"}
    db = databases["this"]
    assert db["storage_encrypted"] is True
    assert db["kms_key_id"] == "${var.kms_key_arn}"
    assert db["publicly_accessible"] is False
    assert db["manage_master_user_password"] is True
    assert "password" not in db
    assert db["deletion_protection"] is True
    assert db["skip_final_snapshot"] is False
    assert db["vpc_security_group_ids"] == ["${aws_security_group.rds.id}"]
    subnets = dagster.of_type("aws_db_subnet_group")["this"]
    assert subnets["subnet_ids"] == "${var.subnet_ids}"
    parameters = {
        p["name"]: p["value"]
        for p in as_list(dagster.of_type("aws_db_parameter_group")["this"]["parameter"])
    }
    assert parameters["rds.force_ssl"] == "1"
    root = module(ROOT_DIR)
    assert root.modules["dagster"]["subnet_ids"] == "${module.network.private_subnet_ids}"


# Secrets ------------------------------------------------------------------------------------------

SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|token|private_key|access_key|credential)")
SECRET_VALUE = re.compile(
    r"(AKIA|ASIA)[A-Z0-9]{16}"  # AWS access key id
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|(?i:(password|token)\s*[=:]\s*\S{6,})"
)


def _files(*patterns: str) -> list[Path]:
    return sorted(p for pattern in patterns for p in INFRA_DIR.rglob(pattern))


@pytest.mark.parametrize(
    "path", _files("*.tfvars", "*.tfbackend"), ids=lambda p: str(p.relative_to(INFRA_DIR))
)
def test_no_secret_in_tfvars(path: Path) -> None:
    values = load(path)
    for key, value in values.items():
        if SECRET_NAME.search(key):
            # Only references to secrets (ARNs) may be named like one.
            for text in walk_strings(value):
                assert text.startswith("arn:"), f"{path.name}: {key} holds a literal secret"
    for text in walk_strings(values):
        assert not SECRET_VALUE.search(text), f"{path.name}: {text[:20]}..."
    raw = path.read_text(encoding="utf-8")
    assert not SECRET_VALUE.search(raw.replace("\n", " ")), path.name


def test_no_secret_literal_in_terraform_code() -> None:
    for mod in all_modules():
        for (type_, name), body in mod.resources.items():
            for key in ("password", "master_password", "secret_string", "token"):
                value = body.get(key)
                if value is None:
                    continue
                allowed = is_reference(value) or (
                    type_ == "aws_secretsmanager_secret_version"
                    and value.startswith("unset-")  # placeholder, replaced out of band
                )
                assert allowed, f"{mod.path.name}: {type_}.{name}.{key} is a literal"
        for name, variable in mod.variables.items():
            if SECRET_NAME.search(name) and not name.endswith(("_arn", "_arns")):
                assert "default" not in variable, f"{mod.path.name}: variable {name} has a default"


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and bool(
        re.fullmatch(
            r"\$\{(random_password|data\.aws_secretsmanager_secret_version|var|ephemeral)\..+\}",
            value,
        )
    )


def test_container_secrets_come_from_secrets_manager() -> None:
    dagster = module(MODULES_DIR / "dagster")
    validation = str(dagster.variables["container_environment"]["validation"])
    assert "password|token" in validation
    root = module(ROOT_DIR)
    for call in ("dagster", "api"):
        environment = _environment_keys(root, root.modules[call]["container_environment"])
        assert {"ONS_INFLUX_URL", "ONS_INFLUX_AUTH"} <= environment, call
        assert not [k for k in environment if SECRET_NAME.search(k) and not k.endswith("_ARN")]
    assert root.modules["dagster"]["container_secret_arns"] == {
        "ONS_INFLUX_TOKEN": "${module.influxdb.pipeline_token_secret_arn}"
    }
    tasks = "\n".join(dagster.texts[p] for p in dagster.texts if p.name == "tasks.tf")
    assert '"${local.pg_secret_arn}:password::"' in tasks


def _environment_keys(root: Any, value: Any) -> set[str]:
    """The variable names of a container_environment argument: a map, a local, or
    ``merge(local.x, {A = ..., B = ...})``."""
    value = resolve_local(root, value)
    if isinstance(value, dict):
        return set(value)
    keys = set(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=", value))
    for name in re.findall(r"\blocal\.([a-z_]+)", value):
        keys |= set(root.locals[name])
    return keys


def test_encryption_at_rest_uses_the_environment_key() -> None:
    expected = "${var.kms_key_arn}"
    for mod in all_modules():
        for name, group in mod.of_type("aws_cloudwatch_log_group").items():
            assert group["kms_key_id"] == expected, f"{mod.path.name}: {name}"
        for name, secret in mod.of_type("aws_secretsmanager_secret").items():
            assert secret["kms_key_id"] == expected, f"{mod.path.name}: {name}"
    kms = module(MODULES_DIR / "kms").of_type("aws_kms_key")["this"]
    assert kms["enable_key_rotation"] is True


def test_root_module_takes_no_secret_and_passes_only_secret_references() -> None:
    root = module(ROOT_DIR)
    for name in root.variables:
        assert not SECRET_NAME.search(name) or name.endswith(("_arn", "_arns")), (
            f"variable {name}: secrets are never inputs of the root module"
        )
    for call_name, call in root.modules.items():
        for key, value in call.items():
            if not SECRET_NAME.search(key):
                continue
            for text in walk_strings(value):
                assert re.fullmatch(r"\$\{module\.[a-z_]+\.[a-z_]+_arns?\}", text), (
                    f"module {call_name}: {key} must reference a secret ARN, not hold {text[:20]}"
                )

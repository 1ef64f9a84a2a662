"""The query API's own metrics, alarms and Bedrock access in the Terraform, read with
python-hcl2 and checked against the code that publishes and uses them: the alarms watch metric
names and dimension sets the API really publishes, on the routes that really need the key; the
API tasks may put metrics only in that namespace and call Bedrock only when configured."""

from __future__ import annotations

from typing import Any

from ons_pipeline.api.app import create_app
from ons_pipeline.lib.ops.apimetrics import COUNTERS, RequestMetrics, RequestOutcome
from ons_pipeline.lib.settings import ApiSettings, InfluxSettings, Settings
from ons_pipeline_tests.infra.hcl import (
    MODULES_DIR,
    ROOT_DIR,
    as_list,
    first,
    instances,
    module,
    statements,
)

PER_ENDPOINT = "${merge(var.pipeline_metric_dimensions, {Endpoint = each.value})}"


def monitoring() -> Any:
    return module(MODULES_DIR / "monitoring")


def published_names() -> set[str]:
    data = RequestMetrics.to_metrics({(0, "POST /v2/query"): _one_cell()})
    return {m.name for m in data}


def _one_cell() -> Any:
    metrics = RequestMetrics(clock=lambda: 0.0)
    metrics.record(RequestOutcome("POST /v2/query", 200, 1.0))
    return metrics.take()[(0, "POST /v2/query")]


def protected_endpoints() -> set[str]:
    """``"<METHOD> <route>"`` of every operation the OpenAPI document puts behind the API key
    (the labels the metrics middleware gives them: ``observability.endpoint_label``)."""
    app = create_app(
        Settings(
            influx=InfluxSettings.of(url="http://127.0.0.1:9"),
            api=ApiSettings(api_key="k" * 32, rag_embedder="hashing"),
        )
    )
    return {
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    }


def test_every_data_endpoint_has_its_alarms_and_only_those() -> None:
    endpoints = monitoring().variables["api_metric_endpoints"]["default"]
    assert set(endpoints.values()) == protected_endpoints()
    assert protected_endpoints() == {
        "POST /v2/query",
        "POST /v2/context",
        "POST /query",
        "POST /v1/query",
    }
    for key in endpoints:  # alarm names are made of them
        assert key.replace("-", "").isalnum() and key == key.lower(), key


def endpoint_alarms() -> dict[str | None, dict[str, Any]]:
    """The instances of ``aws_cloudwatch_metric_alarm.api_endpoint``: its for_each,
    ``local.api_endpoint_alarms``, is every (endpoint, alarm) pair, worked out here from the
    expression it is held to."""
    mod = monitoring()
    assert mod.locals["api_endpoint_alarms"] == (
        "${merge([for alarm, spec in local.api_endpoint_alarm_specs : "
        '{for key, endpoint in var.api_metric_endpoints : "${key}-${alarm}" => '
        "merge(spec, {endpoint = endpoint})}] ...)}"
    )
    alarm = mod.of_type("aws_cloudwatch_metric_alarm")["api_endpoint"]
    assert alarm["for_each"] == "${local.api_endpoint_alarms}"
    items = {
        f"{key}-{name}": {**spec, "endpoint": endpoint}
        for name, spec in mod.locals["api_endpoint_alarm_specs"].items()
        for key, endpoint in mod.variables["api_metric_endpoints"]["default"].items()
    }
    return instances(mod, alarm, items)


def test_per_endpoint_alarms_watch_what_the_api_publishes() -> None:
    names = published_names()
    assert names == {"ApiRequests", "ApiLatencyMs", *COUNTERS}
    endpoints = monitoring().variables["api_metric_endpoints"]["default"]
    alarms = monitoring().of_type("aws_cloudwatch_metric_alarm")
    single = alarms["api_endpoint"]  # one alarm on one metric, per endpoint and alarm
    rate = alarms["api_endpoint_5xx_rate"]
    assert rate["for_each"] == "${var.api_metric_endpoints}"
    assert rate["alarm_name"].startswith("${var.name}-api-${each.key}-")
    created = endpoint_alarms()
    alarm_names = ("latency", "timeouts")
    assert set(created) == {f"{key}-{name}" for key in endpoints for name in alarm_names}
    for alarm in (single, rate):
        assert alarm["treat_missing_data"] == "notBreaching"  # no data = no request, not down
        assert alarm["alarm_actions"] == alarm["ok_actions"] == "${local.actions}"
    assert single["alarm_name"] == "${var.name}-api-${each.key}"
    assert single["namespace"] == "${var.pipeline_metrics_namespace}"
    assert single["dimensions"] == PER_ENDPOINT.replace("each.value", "each.value.endpoint")
    assert single["period"] == 60  # the API publishes per minute
    for key, alarm in created.items():
        assert alarm["metric_name"] in names, key
    latency = {k: a for k, a in created.items() if k.endswith("-latency")}
    timeouts = {k: a for k, a in created.items() if k.endswith("-timeouts")}
    for alarm in latency.values():
        assert alarm["metric_name"] == "ApiLatencyMs" and alarm["extended_statistic"] == "p99"
        assert alarm["statistic"] is None  # percentiles: the API publishes a distribution
    for alarm in timeouts.values():
        assert alarm["metric_name"] == "ApiTimeouts" and alarm["statistic"] == "Sum"
        assert alarm["extended_statistic"] is None
    queries = {q["id"]: q for q in as_list(rate["metric_query"])}
    assert queries["rate"]["expression"] == "IF(requests > 0, 100 * errors / requests, 0)"
    assert queries["rate"]["return_data"] is True
    for key, metric in (("errors", "Api5xxErrors"), ("requests", "ApiRequests")):
        stat = first(queries[key]["metric"])
        assert stat["metric_name"] == metric and metric in names
        assert stat["namespace"] == "${var.pipeline_metrics_namespace}"
        assert stat["dimensions"] == PER_ENDPOINT
        assert (stat["stat"], stat["period"]) == ("Sum", 60)


def test_all_endpoint_alarms_match_the_environment_only_series() -> None:
    specs = monitoring().locals["api_metric_alarm_specs"]
    assert set(specs) == {"api_rejected_keys", "api_rate_limited"}
    assert {s["metric"] for s in specs.values()} == {"ApiRejectedKeys", "ApiRateLimited"}
    for spec in specs.values():
        assert spec["metric"] in published_names()
        assert spec["namespace"] == "${var.pipeline_metrics_namespace}"
        assert spec["dimensions"] == "${var.pipeline_metric_dimensions}"
        assert spec["statistic"] == "Sum" and spec["treat_missing_data"] == "notBreaching"
    alarm = monitoring().of_type("aws_cloudwatch_metric_alarm")["metric"]
    created = instances(monitoring(), alarm)  # the one single-metric alarm resource makes them
    for key in specs:
        assert created[key]["metric_name"] == specs[key]["metric"]
        assert created[key]["dimensions"] == "${var.pipeline_metric_dimensions}"
    # The code publishes the all-endpoints series with no dimension but Environment.
    total = [
        m for m in RequestMetrics.to_metrics({(0, "POST /query"): _one_cell()}) if not m.dimensions
    ]
    assert {m.name for m in total} == published_names()


def test_the_api_publishes_where_the_alarms_look() -> None:
    root = module(ROOT_DIR)
    call = root.modules["monitoring"]
    assert call["pipeline_metric_dimensions"] == {"Environment": "${var.environment}"}
    assert call["pipeline_metrics_namespace"] == "${var.pipeline_metrics_namespace}"
    environment = root.locals["api_environment"]
    assert environment["ONS_METRICS_NAMESPACE"] == "${var.pipeline_metrics_namespace}"
    assert environment["ONS_METRICS_ENVIRONMENT"] == "${var.environment}"
    assert root.modules["api"]["container_environment"] == (
        "${merge(local.influx_environment, local.api_environment)}"
    )
    # What the settings make of it: metrics on, in that namespace, under that environment.
    settings = Settings.from_env(
        {"ONS_METRICS_NAMESPACE": "ONS/Pipeline", "ONS_METRICS_ENVIRONMENT": "prod"}
    )
    assert settings.api.metrics is True
    assert (settings.monitoring.namespace, settings.monitoring.environment) == (
        "ONS/Pipeline",
        "prod",
    )
    assert monitoring().variables["pipeline_metrics_namespace"]["default"] == "ONS/Pipeline"


def test_the_api_task_role_puts_metrics_only_in_its_namespace() -> None:
    iam = module(MODULES_DIR / "iam")
    policy = iam.of_type("aws_iam_role_policy")["api"]
    assert policy["role"] == '${aws_iam_role.task["api"].name}'
    assert policy["policy"] == "${data.aws_iam_policy_document.api.json}"
    by_sid = {s["sid"]: s for s in statements(iam.data_of_type("aws_iam_policy_document")["api"])}
    assert set(by_sid) == {
        "PutApiMetricsOnlyInThePipelineNamespace",
        "RetrieveFromTheBedrockKnowledgeBase",
        "AnswerWithTheBedrockModel",
    }
    metrics = by_sid["PutApiMetricsOnlyInThePipelineNamespace"]
    assert metrics["actions"] == ["cloudwatch:PutMetricData"]
    condition = first(metrics["condition"])
    assert (condition["test"], condition["variable"]) == ("StringEquals", "cloudwatch:namespace")
    assert condition["values"] == ["${var.metrics_namespace}"]
    assert (
        module(ROOT_DIR).modules["iam"]["metrics_namespace"] == "${var.pipeline_metrics_namespace}"
    )
    # The pipeline policy stays off the API's role.
    assert iam.locals["task_roles"]["api"]["pipeline"] is False


def test_bedrock_access_exists_only_when_configured_and_names_its_resources() -> None:
    iam = module(MODULES_DIR / "iam")
    document = iam.data_of_type("aws_iam_policy_document")["api"]
    dynamic = {d["statement"]["content"][0]["sid"]: d["statement"] for d in document["dynamic"]}
    kb = dynamic["RetrieveFromTheBedrockKnowledgeBase"]
    assert kb["for_each"] == (
        "${var.api_bedrock.knowledge_base_id == null ? [] : [var.api_bedrock.knowledge_base_id]}"
    )
    assert kb["content"][0]["actions"] == ["bedrock:Retrieve", "bedrock:GetKnowledgeBase"]
    assert kb["content"][0]["resources"] == [
        "arn:${local.partition}:bedrock:${local.bedrock_region}:${local.account_id}"
        ":knowledge-base/${statement.value}"
    ]
    model = dynamic["AnswerWithTheBedrockModel"]
    assert model["for_each"] == (
        "${var.api_bedrock.model_id == null ? [] : [var.api_bedrock.model_id]}"
    )
    assert model["content"][0]["actions"] == ["bedrock:InvokeModel"]  # Converse needs it
    assert model["content"][0]["resources"] == [
        "arn:${local.partition}:bedrock:${local.bedrock_region}::foundation-model/${statement.value}"
    ]
    assert iam.locals["bedrock_region"] == "${coalesce(var.api_bedrock.region, local.region)}"
    root = module(ROOT_DIR)
    assert root.modules["iam"]["api_bedrock"] == "${var.api_bedrock}"
    assert root.variables["api_bedrock"]["default"] == {}
    # The environment the API gets, both ways, is what the settings understand.
    environment = root.locals["api_environment"]
    assert environment["ONS_RAG_RETRIEVER"] == (
        '${var.api_bedrock.knowledge_base_id == null ? "local" : "bedrock"}'
    )
    unset = {k: "" for k in environment if k.startswith("ONS_BEDROCK_")}
    api = Settings.from_env({**unset, "ONS_RAG_RETRIEVER": "local", "AWS_REGION": "sa-east-1"}).api
    assert api.rag_retriever == "local" and api.bedrock.model_id is None
    assert api.bedrock.region == "sa-east-1"  # "" = the task's region
    configured = Settings.from_env(
        {
            "ONS_RAG_RETRIEVER": "bedrock",
            "ONS_BEDROCK_KNOWLEDGE_BASE_ID": "KB12345678",
            "ONS_BEDROCK_MODEL_ID": "anthropic.claude-3-5-haiku-20241022-v1:0",
            "ONS_BEDROCK_REGION": "us-east-1",
        }
    ).api
    assert configured.bedrock.knowledge_base_id == "KB12345678"
    assert set(unset) == {
        "ONS_BEDROCK_KNOWLEDGE_BASE_ID",
        "ONS_BEDROCK_MODEL_ID",
        "ONS_BEDROCK_REGION",
    }

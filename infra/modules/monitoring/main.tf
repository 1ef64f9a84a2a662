# Alarms to one SNS topic (KMS-encrypted):
#   - Timestream for InfluxDB (v2 instance) service metrics, dimension DbInstanceName
#     (CPUUtilization, MemoryUtilization, DiskUtilization; AWS recommends a DiskUtilization alarm
#     at about 75-80 %);
#   - the pipeline's own metrics in the ONS/Pipeline namespace (FailedBatches, CheckFailures,
#     LoadLagSeconds, PointsPerSecond), published by the pipeline with exactly
#     var.pipeline_metric_dimensions as dimensions.
#   - the query API's load balancer (AWS/ApplicationELB, dimensions LoadBalancer and TargetGroup):
#     share of requests the tasks answer 5xx, 5xx the load balancer itself answers (no target,
#     target reset or timeout), p95 response time, unhealthy targets, no healthy target.
#   - the query API's own metrics (ONS/Pipeline, published once a minute by every API task,
#     ons_pipeline/lib/ops/apimetrics.py): per data endpoint of var.api_metric_endpoints
#     (dimensions var.pipeline_metric_dimensions + Endpoint) p99 latency, share of 5xx and
#     timeouts of InfluxDB or Bedrock; over all endpoints (var.pipeline_metric_dimensions only)
#     rejected API keys and rate-limited requests.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  topic_arn  = aws_sns_topic.alarms.arn
  actions    = [aws_sns_topic.alarms.arn]

  instance_alarm_specs = {
    cpu = {
      metric      = "CPUUtilization"
      threshold   = var.influxdb_cpu_threshold
      description = "InfluxDB CPU above ${var.influxdb_cpu_threshold} % for ${var.influxdb_evaluation_periods} x 5 min"
    }
    memory = {
      metric      = "MemoryUtilization"
      threshold   = var.influxdb_memory_threshold
      description = "InfluxDB memory above ${var.influxdb_memory_threshold} % for ${var.influxdb_evaluation_periods} x 5 min"
    }
    disk = {
      metric      = "DiskUtilization"
      threshold   = var.influxdb_disk_threshold
      description = "InfluxDB disk above ${var.influxdb_disk_threshold} %: grow allocated_storage before it fills"
    }
  }
  # No instance alarms for a v3 cluster (influxdb_instance_name = null).
  instance_alarms = {
    for key, spec in local.instance_alarm_specs : key => spec if var.influxdb_instance_name != null
  }

  # The pipeline's own metrics, each with exactly var.pipeline_metric_dimensions.
  pipeline_alarm_specs = {
    failed_batches = {
      name                = "pipeline-failed-batches"
      namespace           = var.pipeline_metrics_namespace
      dimensions          = var.pipeline_metric_dimensions
      description         = "Write batches to InfluxDB failed after retries (they went to deadletter/)"
      metric              = "FailedBatches"
      statistic           = "Sum"
      extended_statistic  = null
      period              = 300
      evaluation_periods  = 1
      datapoints_to_alarm = null
      threshold           = 0
      comparison_operator = "GreaterThanThreshold"
      treat_missing_data  = "notBreaching"
    }
    check_failures = {
      name                = "pipeline-check-failures"
      namespace           = var.pipeline_metrics_namespace
      dimensions          = var.pipeline_metric_dimensions
      description         = "Migration checks (counts, checksums) failed"
      metric              = "CheckFailures"
      statistic           = "Sum"
      extended_statistic  = null
      period              = 300
      evaluation_periods  = 1
      datapoints_to_alarm = null
      threshold           = 0
      comparison_operator = "GreaterThanThreshold"
      treat_missing_data  = "notBreaching"
    }
    # The newest loaded data is too old, or the pipeline stopped reporting it (missing = breaching).
    load_lag = {
      name                = "pipeline-load-lag"
      namespace           = var.pipeline_metrics_namespace
      dimensions          = var.pipeline_metric_dimensions
      description         = "Newest data loaded into InfluxDB is older than ${var.load_lag_threshold_seconds} s, or no lag reported"
      metric              = "LoadLagSeconds"
      statistic           = "Maximum"
      extended_statistic  = null
      period              = 3600
      evaluation_periods  = var.load_lag_evaluation_hours
      datapoints_to_alarm = var.load_lag_evaluation_hours
      threshold           = var.load_lag_threshold_seconds
      comparison_operator = "GreaterThanThreshold"
      treat_missing_data  = "breaching"
    }
    # Throughput collapse while loading (no data = no run in progress = fine).
    points_per_second = {
      name                = "pipeline-low-throughput"
      namespace           = var.pipeline_metrics_namespace
      dimensions          = var.pipeline_metric_dimensions
      description         = "Load throughput below ${var.points_per_second_min} points/s for 15 min"
      metric              = "PointsPerSecond"
      statistic           = "Average"
      extended_statistic  = null
      period              = 300
      evaluation_periods  = 3
      datapoints_to_alarm = 3
      threshold           = var.points_per_second_min
      comparison_operator = "LessThanThreshold"
      treat_missing_data  = "notBreaching"
    }
  }

  # The query API's load balancer: every API metric by target group except the load balancer's
  # own 5xx (dimension LoadBalancer only). One-minute periods. The 5xx rate, a metric math
  # expression, is its own resource below.
  api_target = { LoadBalancer = var.api_load_balancer_arn_suffix, TargetGroup = var.api_target_group_arn_suffix }
  api_alarm_specs = {
    api_latency = {
      name                = "api-latency"
      namespace           = "AWS/ApplicationELB"
      dimensions          = local.api_target
      description         = "Query API p95 response time above ${var.api_latency_threshold_seconds} s for 5 minutes"
      metric              = "TargetResponseTime"
      statistic           = null
      extended_statistic  = "p95"
      period              = 60
      evaluation_periods  = 5
      datapoints_to_alarm = 5
      threshold           = var.api_latency_threshold_seconds
      comparison_operator = "GreaterThanThreshold"
      treat_missing_data  = "notBreaching"
    }
    api_unhealthy_targets = {
      name                = "api-unhealthy-targets"
      namespace           = "AWS/ApplicationELB"
      dimensions          = local.api_target
      description         = "Query API tasks failing the /health check for 3 minutes"
      metric              = "UnHealthyHostCount"
      statistic           = "Maximum"
      extended_statistic  = null
      period              = 60
      evaluation_periods  = 3
      datapoints_to_alarm = 3
      threshold           = 0
      comparison_operator = "GreaterThanThreshold"
      treat_missing_data  = "notBreaching"
    }
    # The API is down. The load balancer publishes its metrics only while requests flow (AWS
    # docs), so no data is an idle API, not a down one: a request to a down API reports 0.
    api_no_healthy_target = {
      name                = "api-no-healthy-target"
      namespace           = "AWS/ApplicationELB"
      dimensions          = local.api_target
      description         = "Query API has no healthy task behind its load balancer"
      metric              = "HealthyHostCount"
      statistic           = "Minimum"
      extended_statistic  = null
      period              = 60
      evaluation_periods  = 2
      datapoints_to_alarm = 2
      threshold           = 1
      comparison_operator = "LessThanThreshold"
      treat_missing_data  = "notBreaching"
    }
    api_load_balancer_5xx = {
      name                = "api-load-balancer-5xx"
      namespace           = "AWS/ApplicationELB"
      dimensions          = { LoadBalancer = var.api_load_balancer_arn_suffix }
      description         = "Query API load balancer answered more than ${var.api_elb_5xx_threshold} 5xx a minute itself (no target, reset or timeout) in 3 of 5 minutes"
      metric              = "HTTPCode_ELB_5XX_Count"
      statistic           = "Sum"
      extended_statistic  = null
      period              = 60
      evaluation_periods  = 5
      datapoints_to_alarm = 3
      threshold           = var.api_elb_5xx_threshold
      comparison_operator = "GreaterThanThreshold"
      treat_missing_data  = "notBreaching"
    }
  }

  # The API's own metrics over all endpoints (exactly var.pipeline_metric_dimensions): someone
  # trying keys, or clients still using a replaced key; a client held back by the rate limit.
  api_metric_alarm_specs = {
    api_rejected_keys = {
      name                = "api-rejected-keys"
      namespace           = var.pipeline_metrics_namespace
      dimensions          = var.pipeline_metric_dimensions
      description         = "Query API refused more than ${var.api_rejected_keys_threshold} requests for a missing or wrong API key in 5 minutes (security events api.key_rejected in the API log)"
      metric              = "ApiRejectedKeys"
      statistic           = "Sum"
      extended_statistic  = null
      period              = 300
      evaluation_periods  = 1
      datapoints_to_alarm = null
      threshold           = var.api_rejected_keys_threshold
      comparison_operator = "GreaterThanThreshold"
      treat_missing_data  = "notBreaching"
    }
    api_rate_limited = {
      name                = "api-rate-limited"
      namespace           = var.pipeline_metrics_namespace
      dimensions          = var.pipeline_metric_dimensions
      description         = "Query API answered more than ${var.api_rate_limited_threshold} requests 429 (rate limit per key) in 5 minutes"
      metric              = "ApiRateLimited"
      statistic           = "Sum"
      extended_statistic  = null
      period              = 300
      evaluation_periods  = 1
      datapoints_to_alarm = null
      threshold           = var.api_rate_limited_threshold
      comparison_operator = "GreaterThanThreshold"
      treat_missing_data  = "notBreaching"
    }
  }

  # Every alarm on one metric of the pipeline or the API: one resource (keys and names unchanged).
  metric_alarm_specs = merge(local.pipeline_alarm_specs, local.api_alarm_specs, local.api_metric_alarm_specs)

  # The API's own metrics per data endpoint: each of these alarms for each endpoint of
  # var.api_metric_endpoints, keyed "<endpoint key>-<alarm>" (the end of the alarm's name).
  api_endpoint_alarm_specs = {
    # Percentiles: the API publishes a distribution, so no statistic.
    latency = {
      metric             = "ApiLatencyMs"
      statistic          = null
      extended_statistic = "p99"
      threshold          = var.api_endpoint_latency_p99_ms
      description        = "p99 latency above ${var.api_endpoint_latency_p99_ms} ms in 3 of 5 minutes"
    }
    timeouts = {
      metric             = "ApiTimeouts"
      statistic          = "Sum"
      extended_statistic = null
      threshold          = var.api_endpoint_timeouts_threshold
      description        = "more than ${var.api_endpoint_timeouts_threshold} requests a minute failed on an InfluxDB or Bedrock timeout in 3 of 5 minutes"
    }
  }
  api_endpoint_alarms = merge([
    for alarm, spec in local.api_endpoint_alarm_specs : {
      for key, endpoint in var.api_metric_endpoints : "${key}-${alarm}" => merge(spec, { endpoint = endpoint })
    }
  ]...)
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "alarms_topic" {
  statement {
    sid       = "CloudWatchAlarmsOfThisAccountPublish"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:cloudwatch:${data.aws_region.current.region}:${local.account_id}:alarm:*"]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms_topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# Timestream for InfluxDB service metrics --------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "influxdb" {
  for_each = local.instance_alarms

  alarm_name          = "${var.name}-influxdb-${each.key}"
  alarm_description   = each.value.description
  namespace           = var.influxdb_metrics_namespace
  metric_name         = each.value.metric
  dimensions          = { DbInstanceName = var.influxdb_instance_name }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = var.influxdb_evaluation_periods
  datapoints_to_alarm = var.influxdb_evaluation_periods
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# Pipeline metrics (namespace ONS/Pipeline) and the query API (AWS/ApplicationELB) --------------

resource "aws_cloudwatch_metric_alarm" "metric" {
  for_each = local.metric_alarm_specs

  alarm_name          = "${var.name}-${each.value.name}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  extended_statistic  = each.value.extended_statistic
  period              = each.value.period
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.datapoints_to_alarm
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison_operator
  treat_missing_data  = each.value.treat_missing_data
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# Share of the requests the API tasks answer with a 5xx. The load balancer publishes no
# HTTPCode_Target_5XX_Count datapoint in a minute without one, hence FILL; no request = 0 %.
resource "aws_cloudwatch_metric_alarm" "api_5xx_rate" {
  alarm_name          = "${var.name}-api-5xx-rate"
  alarm_description   = "Query API answered more than ${var.api_5xx_rate_threshold_percent} % of requests with 5xx in 3 of 5 minutes"
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_5xx_rate_threshold_percent
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  metric_query {
    id          = "rate"
    expression  = "IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)"
    label       = "Target 5xx, % of requests"
    return_data = true
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = local.api_target
      stat        = "Sum"
      period      = 60
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.api_target
      stat        = "Sum"
      period      = 60
    }
  }

  tags = var.tags
}

# The query API's own metrics, per data endpoint ------------------------------------------------
# Published only in minutes with requests (no data = idle, not broken); the counters are 0, not
# absent, in those minutes, so the 5xx share needs no FILL.

resource "aws_cloudwatch_metric_alarm" "api_endpoint" {
  for_each = local.api_endpoint_alarms

  alarm_name          = "${var.name}-api-${each.key}"
  alarm_description   = "Query API ${each.value.endpoint}: ${each.value.description}"
  namespace           = var.pipeline_metrics_namespace
  metric_name         = each.value.metric
  dimensions          = merge(var.pipeline_metric_dimensions, { Endpoint = each.value.endpoint })
  statistic           = each.value.statistic
  extended_statistic  = each.value.extended_statistic
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "api_endpoint_5xx_rate" {
  for_each = var.api_metric_endpoints

  alarm_name          = "${var.name}-api-${each.key}-5xx-rate"
  alarm_description   = "Query API ${each.value}: more than ${var.api_endpoint_5xx_percent} % of requests answered 5xx in 3 of 5 minutes"
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_endpoint_5xx_percent
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  metric_query {
    id          = "rate"
    expression  = "IF(requests > 0, 100 * errors / requests, 0)"
    label       = "5xx, % of requests"
    return_data = true
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = var.pipeline_metrics_namespace
      metric_name = "Api5xxErrors"
      dimensions  = merge(var.pipeline_metric_dimensions, { Endpoint = each.value })
      stat        = "Sum"
      period      = 60
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = var.pipeline_metrics_namespace
      metric_name = "ApiRequests"
      dimensions  = merge(var.pipeline_metric_dimensions, { Endpoint = each.value })
      stat        = "Sum"
      period      = 60
    }
  }

  tags = var.tags
}

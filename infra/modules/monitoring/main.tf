# Alarms to one SNS topic (KMS-encrypted):
#   - Timestream for InfluxDB (v2 instance) service metrics, dimension DbInstanceName
#     (CPUUtilization, MemoryUtilization, DiskUtilization; AWS recommends a DiskUtilization alarm
#     at about 75-80 %);
#   - the pipeline's own metrics in the ONS/Pipeline namespace (FailedBatches, CheckFailures,
#     LoadLagSeconds, PointsPerSecond), published by the pipeline with exactly
#     var.pipeline_metric_dimensions as dimensions.

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

  # Every alarm on one metric (the pipeline's): one resource (keys and names unchanged).
  metric_alarm_specs = local.pipeline_alarm_specs
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

# Pipeline metrics (namespace ONS/Pipeline) ------------------------------------------------------

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

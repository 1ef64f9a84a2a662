# The four pipeline alarms became one for_each resource (local.pipeline_alarm_specs); these blocks
# carry the existing alarms to their new addresses instead of replacing them.

moved {
  from = aws_cloudwatch_metric_alarm.failed_batches
  to   = aws_cloudwatch_metric_alarm.pipeline["failed_batches"]
}

moved {
  from = aws_cloudwatch_metric_alarm.check_failures
  to   = aws_cloudwatch_metric_alarm.pipeline["check_failures"]
}

moved {
  from = aws_cloudwatch_metric_alarm.load_lag
  to   = aws_cloudwatch_metric_alarm.pipeline["load_lag"]
}

moved {
  from = aws_cloudwatch_metric_alarm.points_per_second
  to   = aws_cloudwatch_metric_alarm.pipeline["points_per_second"]
}

# The pipeline alarms' resource became `metric`, the one for every alarm on a single metric;
# every instance keeps its key and its name, so one block moves them all.
moved {
  from = aws_cloudwatch_metric_alarm.pipeline
  to   = aws_cloudwatch_metric_alarm.metric
}

# The per-endpoint latency and timeout alarms became one for_each resource over every (endpoint,
# alarm) pair (local.api_endpoint_alarms); every alarm keeps its name.

moved {
  from = aws_cloudwatch_metric_alarm.api_endpoint_latency["v2-query"]
  to   = aws_cloudwatch_metric_alarm.api_endpoint["v2-query-latency"]
}

moved {
  from = aws_cloudwatch_metric_alarm.api_endpoint_timeouts["v2-query"]
  to   = aws_cloudwatch_metric_alarm.api_endpoint["v2-query-timeouts"]
}

moved {
  from = aws_cloudwatch_metric_alarm.api_endpoint_latency["v2-context"]
  to   = aws_cloudwatch_metric_alarm.api_endpoint["v2-context-latency"]
}

moved {
  from = aws_cloudwatch_metric_alarm.api_endpoint_timeouts["v2-context"]
  to   = aws_cloudwatch_metric_alarm.api_endpoint["v2-context-timeouts"]
}

moved {
  from = aws_cloudwatch_metric_alarm.api_endpoint_latency["query"]
  to   = aws_cloudwatch_metric_alarm.api_endpoint["query-latency"]
}

moved {
  from = aws_cloudwatch_metric_alarm.api_endpoint_timeouts["query"]
  to   = aws_cloudwatch_metric_alarm.api_endpoint["query-timeouts"]
}

moved {
  from = aws_cloudwatch_metric_alarm.api_endpoint_latency["v1-query"]
  to   = aws_cloudwatch_metric_alarm.api_endpoint["v1-query-latency"]
}

moved {
  from = aws_cloudwatch_metric_alarm.api_endpoint_timeouts["v1-query"]
  to   = aws_cloudwatch_metric_alarm.api_endpoint["v1-query-timeouts"]
}

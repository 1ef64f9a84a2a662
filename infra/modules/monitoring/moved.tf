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

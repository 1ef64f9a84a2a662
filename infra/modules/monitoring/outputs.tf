output "alarm_topic_arn" {
  description = "SNS topic of every alarm (and of the pipeline's own alerts)."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.influxdb : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.metric : a.alarm_name],
    [aws_cloudwatch_metric_alarm.api_5xx_rate.alarm_name],
    [for key in keys(var.api_metric_endpoints) : aws_cloudwatch_metric_alarm.api_endpoint["${key}-latency"].alarm_name],
    [for a in aws_cloudwatch_metric_alarm.api_endpoint_5xx_rate : a.alarm_name],
    [for key in keys(var.api_metric_endpoints) : aws_cloudwatch_metric_alarm.api_endpoint["${key}-timeouts"].alarm_name],
  )
}

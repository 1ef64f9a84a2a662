output "data_bucket_name" {
  description = "Name of the pipeline data bucket (ONS_S3_BUCKET)."
  value       = aws_s3_bucket.data.id
}

output "data_bucket_arn" {
  description = "ARN of the pipeline data bucket."
  value       = aws_s3_bucket.data.arn
}

output "influxdb_logs_bucket_name" {
  description = "Bucket receiving Timestream for InfluxDB engine logs."
  value       = aws_s3_bucket.influxdb_logs.id
}

output "access_logs_bucket_name" {
  description = "Bucket receiving S3 server access logs and load balancer access logs."
  value       = aws_s3_bucket.access_logs.id
}

output "prefixes" {
  description = "Prefixes of the data bucket, without slashes."
  value       = local.prefixes
}

output "influxdb_url" {
  description = "ONS_INFLUX_URL."
  value       = module.stack.influxdb_url
}

output "influxdb_name" {
  description = "Timestream for InfluxDB instance/cluster name."
  value       = module.stack.influxdb_name
}

output "influxdb_auth_secret_arn" {
  description = "Secret created by Timestream for InfluxDB."
  value       = module.stack.influxdb_auth_secret_arn
}

output "influxdb_pipeline_token_secret_arn" {
  description = "Secret holding the pipeline's InfluxDB token."
  value       = module.stack.influxdb_pipeline_token_secret_arn
}

output "data_bucket_name" {
  description = "ONS_S3_BUCKET."
  value       = module.stack.data_bucket_name
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.stack.alarm_topic_arn
}

output "ecs_cluster_name" {
  description = "ECS cluster."
  value       = module.stack.ecs_cluster_name
}

output "run_launcher" {
  description = "Values for the production dagster.yaml EcsRunLauncher block."
  value       = module.stack.run_launcher
}

output "ui_url" {
  description = "Internal URL of the Dagster UI."
  value       = module.stack.ui_url
}

output "alarm_names" {
  description = "CloudWatch alarms."
  value       = module.stack.alarm_names
}

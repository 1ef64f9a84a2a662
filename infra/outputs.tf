output "influxdb_url" {
  description = "ONS_INFLUX_URL."
  value       = module.influxdb.url
}

output "influxdb_engine" {
  description = "\"v2\" or \"v3\"."
  value       = module.influxdb.engine
}

output "influxdb_name" {
  description = "Instance/cluster name (DbInstanceName dimension for v2)."
  value       = module.influxdb.name
}

output "influxdb_auth_secret_arn" {
  description = "Secret created by Timestream for InfluxDB (v2: org/bucket/username/password; v3: admin token)."
  value       = module.influxdb.auth_secret_arn
}

output "influxdb_pipeline_token_secret_arn" {
  description = "Secret to put the pipeline's InfluxDB token in (ONS_INFLUX_TOKEN)."
  value       = module.influxdb.pipeline_token_secret_arn
}

output "data_bucket_name" {
  description = "ONS_S3_BUCKET."
  value       = module.storage.data_bucket_name
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.monitoring.alarm_topic_arn
}

output "ecs_cluster_name" {
  description = "ECS cluster of the Dagster services and runs."
  value       = module.dagster.cluster_name
}

output "private_subnet_ids" {
  description = "Private subnets."
  value       = module.network.private_subnet_ids
}

output "tasks_security_group_id" {
  description = "Security group of the Dagster tasks."
  value       = module.dagster.tasks_security_group_id
}

output "run_launcher" {
  description = "Values for the EcsRunLauncher block of the production dagster.yaml."
  value = {
    cluster             = module.dagster.cluster_name
    task_definition     = module.dagster.run_task_definition_arn
    container_name      = "run"
    task_role_arn       = module.iam.task_roles["run"].arn
    execution_role_arn  = module.iam.task_roles["execution"].arn
    subnets             = module.network.private_subnet_ids
    security_group_ids  = [module.dagster.tasks_security_group_id]
    run_log_group       = module.dagster.log_groups["run"]
    postgres_host       = module.dagster.postgres_host
    postgres_secret_arn = module.dagster.postgres_master_secret_arn
  }
}

output "ui_url" {
  description = "Internal URL of the Dagster UI (null without a certificate)."
  value       = module.dagster.ui_url
}

output "alarm_names" {
  description = "CloudWatch alarms."
  value       = module.monitoring.alarm_names
}

output "api_url" {
  description = "Internal URL of the query API (https)."
  value       = module.api.url
}

output "api_service_name" {
  description = "ECS service of the query API (in ecs_cluster_name)."
  value       = module.api.service_name
}

output "api_key_secret_arn" {
  description = "Secret holding the query API's key (ONS_API_KEY)."
  value       = module.api.api_key_secret_arn
}

output "api_fingerprint_key_secret_arn" {
  description = "Secret holding the query API's fingerprint key (ONS_API_FINGERPRINT_KEY): internal, never handed to clients."
  value       = module.api.fingerprint_key_secret_arn
}

output "influxdb_api_token_secret_arn" {
  description = "Secret to put the query API's read-only InfluxDB token in (ONS_INFLUX_TOKEN of the API tasks)."
  value       = module.influxdb.api_token_secret_arn
}

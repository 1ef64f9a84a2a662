output "engine" {
  description = "\"v2\" or \"v3\"."
  value       = var.engine
}

output "id" {
  description = "ID of the DB instance (v2) or DB cluster (v3)."
  value       = one(concat(aws_timestreaminfluxdb_db_instance.this[*].id, aws_timestreaminfluxdb_db_cluster.this[*].id))
}

output "arn" {
  description = "ARN of the DB instance (v2) or DB cluster (v3)."
  value       = one(concat(aws_timestreaminfluxdb_db_instance.this[*].arn, aws_timestreaminfluxdb_db_cluster.this[*].arn))
}

output "name" {
  description = "Name of the DB instance or cluster (the DbInstanceName dimension of v2 metrics)."
  value       = var.name
}

output "endpoint" {
  description = "Endpoint host name."
  value       = local.endpoint
}

output "port" {
  description = "InfluxDB port."
  value       = local.port
}

output "url" {
  description = "Base URL for ONS_INFLUX_URL (TLS)."
  value       = "https://${local.endpoint}:${local.port}"
}

output "auth_secret_arn" {
  description = "Secrets Manager secret the service created: v2 {organization, bucket, username, password}; v3 the admin token."
  value       = one(concat(aws_timestreaminfluxdb_db_instance.this[*].influx_auth_parameters_secret_arn, aws_timestreaminfluxdb_db_cluster.this[*].influx_auth_parameters_secret_arn))
}

output "pipeline_token_secret_arn" {
  description = "Secret holding the pipeline's InfluxDB API token (ONS_INFLUX_TOKEN)."
  value       = aws_secretsmanager_secret.token["pipeline"].arn
}

output "api_token_secret_arn" {
  description = "Secret holding the query API's read-only InfluxDB API token (ONS_INFLUX_TOKEN of the API tasks)."
  value       = aws_secretsmanager_secret.token["api"].arn
}

output "security_group_id" {
  description = "Security group of the InfluxDB instance or cluster."
  value       = aws_security_group.influxdb.id
}

output "organization" {
  description = "V2 organization (null for v3)."
  value       = local.is_v2 ? var.organization : null
}

output "database" {
  description = "V2 initial bucket, used as ONS_INFLUX_DATABASE (v3: create a database, see README)."
  value       = var.initial_bucket
}

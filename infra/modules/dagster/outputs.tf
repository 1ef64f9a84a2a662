output "cluster_name" {
  description = "ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ECS cluster ARN."
  value       = aws_ecs_cluster.this.arn
}

output "tasks_security_group_id" {
  description = "Security group of every Dagster task (RDS admits it alone; InfluxDB admits it and the API tasks)."
  value       = aws_security_group.tasks.id
}

output "rds_security_group_id" {
  description = "Security group of the Dagster PostgreSQL."
  value       = aws_security_group.rds.id
}

output "run_task_definition_arn" {
  description = "Run task definition (EcsRunLauncher task_definition), without revision."
  value       = aws_ecs_task_definition.run.arn_without_revision
}

output "postgres_host" {
  description = "Dagster PostgreSQL host."
  value       = aws_db_instance.this.address
}

output "postgres_master_secret_arn" {
  description = "RDS-managed secret of the PostgreSQL master user (username, password)."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "ui_url" {
  description = "Internal URL of the Dagster UI (null without a load balancer)."
  value       = local.ui_enabled ? module.ui_alb[0].url : null
}

output "log_groups" {
  description = "CloudWatch log groups of the webserver, daemon and runs."
  value       = { for k, lg in aws_cloudwatch_log_group.this : k => lg.name }
}

output "log_group_arns" {
  description = "ARNs of the webserver, daemon and run log groups (the execution role writes them)."
  value       = [for lg in aws_cloudwatch_log_group.this : lg.arn]
}

output "injected_secret_arns" {
  description = "Every secret the Dagster task definitions inject (the execution role reads exactly these)."
  value       = concat([local.pg_secret_arn], values(var.container_secret_arns))
}

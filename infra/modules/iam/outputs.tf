output "pipeline_policy_arn" {
  description = "ARN of the pipeline policy."
  value       = aws_iam_policy.pipeline.arn
}

output "task_roles" {
  description = "ARN and name of each role: run (EcsRunLauncher task_role_arn), control (webserver and daemon), execution (the Dagster tasks' execution role), api and api_execution (the query API's task and execution roles)."
  value       = { for key, role in aws_iam_role.task : key => { arn = role.arn, name = role.name } }
}

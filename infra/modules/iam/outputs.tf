output "pipeline_policy_arn" {
  description = "ARN of the pipeline policy."
  value       = aws_iam_policy.pipeline.arn
}

output "task_roles" {
  description = "ARN and name of each task role: run (EcsRunLauncher task_role_arn), control (webserver and daemon), execution (every task's execution role)."
  value       = { for key, role in aws_iam_role.task : key => { arn = role.arn, name = role.name } }
}

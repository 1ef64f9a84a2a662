output "pipeline_policy_arn" {
  description = "ARN of the pipeline policy."
  value       = aws_iam_policy.pipeline.arn
}

output "run_role_arn" {
  description = "Task role of the runs (EcsRunLauncher task_role_arn)."
  value       = aws_iam_role.run.arn
}

output "run_role_name" {
  description = "Name of the runs' task role."
  value       = aws_iam_role.run.name
}

output "control_role_arn" {
  description = "Task role of the webserver and daemon."
  value       = aws_iam_role.control.arn
}

output "control_role_name" {
  description = "Name of the webserver/daemon task role."
  value       = aws_iam_role.control.name
}

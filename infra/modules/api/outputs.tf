output "url" {
  description = "Internal URL of the query API (https, the load balancer's DNS name)."
  value       = module.alb.url
}

output "service_name" {
  description = "ECS service of the API."
  value       = aws_ecs_service.api.name
}

output "tasks_security_group_id" {
  description = "Security group of the API tasks (InfluxDB admits it)."
  value       = aws_security_group.tasks.id
}

output "load_balancer_arn_suffix" {
  description = "LoadBalancer dimension of the API's CloudWatch metrics."
  value       = module.alb.arn_suffix
}

output "target_group_arn_suffix" {
  description = "TargetGroup dimension of the API's CloudWatch metrics."
  value       = module.alb.target_group_arn_suffix
}

output "api_key_secret_arn" {
  description = "Secret holding the API key (ONS_API_KEY)."
  value       = aws_secretsmanager_secret.api_key.arn
}

output "fingerprint_key_secret_arn" {
  description = "Secret holding the HMAC key of the API key fingerprints in security events (ONS_API_FINGERPRINT_KEY); internal, never handed to clients."
  value       = aws_secretsmanager_secret.fingerprint_key.arn
}

output "log_group_arns" {
  description = "ARN of the API log group (the execution role writes it)."
  value       = [aws_cloudwatch_log_group.api.arn]
}

output "injected_secret_arns" {
  description = "Every secret the API task definition injects (the execution role reads exactly these)."
  value       = values(local.secret_arns)
}

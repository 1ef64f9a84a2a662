output "arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "arn_suffix" {
  description = "ARN suffix of the load balancer (CloudWatch dimension LoadBalancer)."
  value       = aws_lb.this.arn_suffix
}

output "url" {
  description = "Internal URL (https) of the load balancer."
  value       = "https://${aws_lb.this.dns_name}"
}

output "security_group_id" {
  description = "Security group of the load balancer."
  value       = aws_security_group.this.id
}

output "target_group_arn" {
  description = "ARN of the target group (the ECS service's load_balancer block)."
  value       = aws_lb_target_group.this.arn
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the target group (CloudWatch dimension TargetGroup)."
  value       = aws_lb_target_group.this.arn_suffix
}

output "listener_arn" {
  description = "ARN of the HTTPS listener (a service registers targets once it exists)."
  value       = aws_lb_listener.https.arn
}

# Application Auto Scaling of the service's task count, between var.min_tasks and var.max_tasks,
# with two target tracking policies: requests per target (ALBRequestCountPerTarget, requests a
# minute per task) and average CPU. The service scales out when either policy asks for it and in
# only when both allow it.

locals {
  scaling_policies = {
    requests = {
      metric = "ALBRequestCountPerTarget"
      target = var.requests_per_target
      label  = "${module.alb.arn_suffix}/${module.alb.target_group_arn_suffix}"
    }
    cpu = {
      metric = "ECSServiceAverageCPUUtilization"
      target = var.cpu_target_percent
      label  = null
    }
  }
}

resource "aws_appautoscaling_target" "api" {
  service_namespace  = "ecs"
  resource_id        = "service/${var.cluster_name}/${aws_ecs_service.api.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
  tags               = var.tags
}

resource "aws_appautoscaling_policy" "api" {
  for_each           = local.scaling_policies
  name               = "${var.name}-api-${each.key}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.api.service_namespace
  resource_id        = aws_appautoscaling_target.api.resource_id
  scalable_dimension = aws_appautoscaling_target.api.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = each.value.target
    scale_out_cooldown = var.scale_out_cooldown_seconds
    scale_in_cooldown  = var.scale_in_cooldown_seconds

    predefined_metric_specification {
      predefined_metric_type = each.value.metric
      resource_label         = each.value.label
    }
  }
}

# An internal HTTPS Application Load Balancer in front of one ECS service (target type ip), shared
# by modules/dagster (the Dagster UI) and modules/api (the query API):
#   security group  443 from var.allowed_cidr_blocks only (a validation rejects 0.0.0.0/0 and
#                   ::/0); egress only to the targets' security group, on the target port
#   targets' side   the one ingress rule of the targets' security group: the target port, from
#                   this load balancer's security group
#   listener        HTTPS only (var.ssl_policy, TLS 1.2 or later), var.certificate_arn; there is
#                   no HTTP listener, and nothing answers on port 80
#   target group    HTTP to the tasks inside the VPC, health check on var.health_check.path

resource "aws_security_group" "this" {
  name        = var.security_group_name
  description = "Internal load balancer of the ${var.purpose}: 443 from the allowed ranges"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = var.security_group_name })
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  for_each          = toset(var.allowed_cidr_blocks)
  security_group_id = aws_security_group.this.id
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "${var.purpose} over HTTPS from ${each.value}"
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "to_targets" {
  security_group_id            = aws_security_group.this.id
  referenced_security_group_id = var.target_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = var.target_port
  to_port                      = var.target_port
  description                  = "To ${var.target_description}"
  tags                         = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "targets_from_alb" {
  security_group_id            = var.target_security_group_id
  referenced_security_group_id = aws_security_group.this.id
  ip_protocol                  = "tcp"
  from_port                    = var.target_port
  to_port                      = var.target_port
  description                  = "${var.purpose} from the internal load balancer"
  tags                         = var.tags
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:Internal load balancer (internal = true), reachable only from the VPC and the allowed CIDR ranges; no internet exposure for a WAF to filter.
  name                       = var.name
  internal                   = true
  load_balancer_type         = "application"
  subnets                    = var.subnet_ids
  security_groups            = [aws_security_group.this.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = true

  access_logs {
    bucket  = var.access_logs_bucket_name
    prefix  = "alb"
    enabled = true
  }

  tags = var.tags
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the internal load balancer; the tasks speak HTTP inside the VPC, on a port only the load balancer's security group reaches.
  name                 = var.target_group_name
  port                 = var.target_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay_seconds

  health_check {
    path                = var.health_check.path
    matcher             = var.health_check.matcher
    interval            = var.health_check.interval
    timeout             = var.health_check.timeout
    healthy_threshold   = var.health_check.healthy_threshold
    unhealthy_threshold = var.health_check.unhealthy_threshold
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  tags = var.tags
}

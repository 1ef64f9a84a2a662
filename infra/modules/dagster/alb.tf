# Internal HTTPS load balancer in front of the webserver: reachable only from the VPC and from
# var.ui_allowed_cidr_blocks (e.g. the VPN range routed into the VPC). Created only when a
# certificate is given (ui_certificate_arn); without one there is no load balancer and the UI is
# reached through a bastion or SSM port forwarding into the VPC.

locals {
  ui_enabled = var.ui_certificate_arn != null
}

resource "aws_security_group" "webserver" {
  name        = "${var.name}-dagster-webserver"
  description = "Dagster webserver: 3000 from the UI load balancer only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-dagster-webserver" })
}

resource "aws_vpc_security_group_ingress_rule" "webserver_from_alb" {
  count                        = local.ui_enabled ? 1 : 0
  security_group_id            = aws_security_group.webserver.id
  referenced_security_group_id = aws_security_group.alb[0].id
  ip_protocol                  = "tcp"
  from_port                    = 3000
  to_port                      = 3000
  description                  = "Dagster UI from the internal load balancer"
  tags                         = var.tags
}

resource "aws_security_group" "alb" {
  count       = local.ui_enabled ? 1 : 0
  name        = "${var.name}-dagster-ui-alb"
  description = "Internal load balancer of the Dagster UI: 443 from the allowed ranges"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-dagster-ui-alb" })
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = local.ui_enabled ? toset(var.ui_allowed_cidr_blocks) : toset([])
  security_group_id = aws_security_group.alb[0].id
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "Dagster UI over HTTPS from ${each.value}"
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "alb_to_webserver" {
  count                        = local.ui_enabled ? 1 : 0
  security_group_id            = aws_security_group.alb[0].id
  referenced_security_group_id = aws_security_group.webserver.id
  ip_protocol                  = "tcp"
  from_port                    = 3000
  to_port                      = 3000
  description                  = "To the Dagster webserver"
  tags                         = var.tags
}

resource "aws_lb" "ui" {
  #checkov:skip=CKV2_AWS_28:Internal load balancer (internal = true), reachable only from the VPC and the allowed CIDR ranges; no internet exposure for a WAF to filter.
  count                      = local.ui_enabled ? 1 : 0
  name                       = substr("${var.name}-dagster-ui", 0, 32)
  internal                   = true
  load_balancer_type         = "application"
  subnets                    = var.subnet_ids
  security_groups            = [aws_security_group.alb[0].id]
  drop_invalid_header_fields = true
  enable_deletion_protection = true

  access_logs {
    bucket  = var.access_logs_bucket_name
    prefix  = "alb"
    enabled = true
  }

  tags = var.tags
}

resource "aws_lb_target_group" "webserver" {
  #checkov:skip=CKV_AWS_378:TLS ends at the internal load balancer; the webserver speaks HTTP inside the VPC, on a port only the load balancer's security group reaches.
  count       = local.ui_enabled ? 1 : 0
  name        = substr("${var.name}-dagster-web", 0, 32)
  port        = 3000
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id

  health_check {
    path                = "/server_info"
    matcher             = "200"
    interval            = 30
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  count             = local.ui_enabled ? 1 : 0
  load_balancer_arn = aws_lb.ui[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.ui_certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.webserver[0].arn
  }

  tags = var.tags
}

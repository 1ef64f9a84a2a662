# Internal HTTPS load balancer in front of the webserver (modules/alb): reachable only from
# var.ui_allowed_cidr_blocks (e.g. the VPN range routed into the VPC). Created only when a
# certificate is given (ui_certificate_arn); without one there is no load balancer and the UI is
# reached through a bastion or SSM port forwarding into the VPC. Its objects were blocks of this
# file before the query API shared them: moved.tf carries them to module.ui_alb.

locals {
  ui_enabled = var.ui_certificate_arn != null
}

resource "aws_security_group" "webserver" {
  name        = "${var.name}-dagster-webserver"
  description = "Dagster webserver: 3000 from the UI load balancer only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-dagster-webserver" })
}

module "ui_alb" {
  source = "../alb"
  count  = local.ui_enabled ? 1 : 0

  name                     = substr("${var.name}-dagster-ui", 0, 32)
  target_group_name        = substr("${var.name}-dagster-web", 0, 32)
  security_group_name      = "${var.name}-dagster-ui-alb"
  purpose                  = "Dagster UI"
  target_description       = "the Dagster webserver"
  vpc_id                   = var.vpc_id
  subnet_ids               = var.subnet_ids
  certificate_arn          = var.ui_certificate_arn
  allowed_cidr_blocks      = var.ui_allowed_cidr_blocks
  target_security_group_id = aws_security_group.webserver.id
  target_port              = 3000
  health_check             = { path = "/server_info" }
  access_logs_bucket_name  = var.access_logs_bucket_name
  tags                     = var.tags
}

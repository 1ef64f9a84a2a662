# Dagster on ECS Fargate:
#   webserver service  dagster-webserver, behind an internal HTTPS load balancer (optional)
#   daemon service     dagster-daemon (exactly one task: schedules, sensors, run queue)
#   run task definition the EcsRunLauncher starts one task per run from (task_definition config)
#   RDS PostgreSQL     Dagster's run/event/schedule storage (encrypted, private, not public)
#
# Security groups:
#   tasks      attached to every Dagster task (webserver, daemon, runs): no ingress; egress to
#              InfluxDB, PostgreSQL and HTTPS (AWS APIs through NAT / the S3 endpoint). It is the
#              only source the RDS security group admits; InfluxDB admits it and the query API's
#              tasks.
#   webserver  port 3000 from the load balancer only (that rule is in modules/alb).
#   alb        443 from var.ui_allowed_cidr_blocks (a VPN/office range, never 0.0.0.0/0),
#              in modules/alb (module.ui_alb).
#   rds        5432 from the tasks security group only.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region
  partition  = data.aws_partition.current.partition
  log_groups = {
    webserver = "/ecs/${var.name}/dagster-webserver"
    daemon    = "/ecs/${var.name}/dagster-daemon"
    run       = "/ecs/${var.name}/dagster-run"
  }

  tasks_egress = {
    influxdb = { description = "InfluxDB", port = var.influxdb_port, security_group = var.influxdb_security_group_id, cidr = null }
    postgres = { description = "Dagster storage (PostgreSQL)", port = 5432, security_group = aws_security_group.rds.id, cidr = null }
    https    = { description = "AWS APIs (ECR, S3, Timestream, Secrets Manager, CloudWatch, SNS) over TLS", port = 443, security_group = null, cidr = "0.0.0.0/0" }
  }
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = var.tags
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_cloudwatch_log_group" "this" {
  for_each          = local.log_groups
  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# Security groups -------------------------------------------------------------------------------

resource "aws_security_group" "tasks" {
  name        = "${var.name}-dagster-tasks"
  description = "Dagster webserver, daemon and run tasks: no ingress; egress to InfluxDB, PostgreSQL, HTTPS"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-dagster-tasks" })
}

# Egress of the tasks, as in modules/api: InfluxDB and PostgreSQL (whose security groups admit this
# one) and HTTPS for the AWS APIs. Nothing else.
resource "aws_vpc_security_group_egress_rule" "tasks" {
  for_each                     = local.tasks_egress
  security_group_id            = aws_security_group.tasks.id
  referenced_security_group_id = each.value.security_group
  cidr_ipv4                    = each.value.cidr
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = each.value.description
  tags                         = var.tags
}

resource "aws_security_group" "rds" {
  name        = "${var.name}-dagster-postgres"
  description = "Dagster PostgreSQL: 5432 from the Dagster tasks only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-dagster-postgres" })
}

resource "aws_vpc_security_group_ingress_rule" "rds_from_tasks" {
  security_group_id            = aws_security_group.rds.id
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  description                  = "PostgreSQL from the Dagster tasks"
  tags                         = var.tags
}

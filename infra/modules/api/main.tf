# The query API (`ons-pipeline serve`: GET /health, the legacy POST /query, /v2/...) on ECS
# Fargate, in the Dagster cluster, behind an internal HTTPS load balancer (modules/alb):
#   service         var.min_tasks..var.max_tasks tasks in the private subnets, no public IP;
#                   Application Auto Scaling tracks requests per target and CPU (scaling.tf)
#   load balancer   internal, HTTPS only (TLS 1.2+), 443 from the VPC and var.allowed_cidr_blocks;
#                   target group health check GET /health (open route, 200 even when InfluxDB is
#                   unreachable: restarting the API would not bring InfluxDB back)
#   tasks           security group: 8000 from the load balancer only; egress to InfluxDB and to
#                   HTTPS (ECR, Secrets Manager, CloudWatch Logs through the NAT gateways)
#   secrets         ONS_API_KEY from the Secrets Manager secret below (a generated key, which an
#                   operator may replace, e.g. with the old platform's key); ONS_API_FINGERPRINT_KEY
#                   from the second secret below (generated, internal: the HMAC key of the API
#                   keys' fingerprints in the security events, the same on every task so their
#                   events correlate); ONS_INFLUX_TOKEN from the read-only token secret
#                   (var.container_secret_arns). The execution role (modules/iam) reads exactly
#                   these three; the task role has no Secrets Manager permission.
#
# `serve` refuses a non-loopback host without ONS_API_KEY, so a task without its key stops at
# start instead of serving unauthenticated.

data "aws_region" "current" {}

locals {
  region         = data.aws_region.current.region
  container_name = "api"
  port           = 8000

  environment = merge(var.container_environment, {
    AWS_REGION         = local.region
    AWS_DEFAULT_REGION = local.region
    PYTHONUNBUFFERED   = "1"
    # uvicorn believes X-Forwarded-For/-Proto only from these peers: the load balancer's subnets.
    # It reads X-Forwarded-For from the right and takes the first address not in them, so the
    # address the load balancer appended (the real caller), never one the caller wrote itself.
    # "*" would make it take the leftmost entry, which the caller controls.
    FORWARDED_ALLOW_IPS = join(",", var.load_balancer_subnet_cidr_blocks)
  })
  secret_arns = merge(var.container_secret_arns, {
    ONS_API_KEY             = aws_secretsmanager_secret.api_key.arn
    ONS_API_FINGERPRINT_KEY = aws_secretsmanager_secret.fingerprint_key.arn
  })

  # Egress of the tasks: InfluxDB (its security group admits this one) and HTTPS for the AWS APIs
  # the ECS agent calls for the task (image pull, secrets, logs). Nothing else.
  egress = {
    influxdb = { description = "InfluxDB", port = var.influxdb_port, security_group = var.influxdb_security_group_id, cidr = null }
    https    = { description = "AWS APIs (ECR, Secrets Manager, CloudWatch Logs) over TLS", port = 443, security_group = null, cidr = "0.0.0.0/0" }
  }
}

resource "aws_cloudwatch_log_group" "api" {
  name              = "/ecs/${var.name}/api"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# The API key -------------------------------------------------------------------------------------

# Generated once; the state holds it (as it holds the InfluxDB admin password: keep the state in
# the encrypted, access-restricted backend). Replace it with put-secret-value (README): Terraform
# never writes the secret again.
resource "random_password" "api_key" {
  length  = 48
  special = false
}

resource "aws_secretsmanager_secret" "api_key" {
  #checkov:skip=CKV2_AWS_57:A static API key shared with the API's clients: rotating it means handing the new key to every client, done by hand (README "Secret rotation"); no rotation Lambda.
  name                    = "${var.name}/api/key"
  description             = "API key of the ons-pipeline query API (ONS_API_KEY): X-API-Key or Authorization: Bearer"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "api_key" {
  secret_id     = aws_secretsmanager_secret.api_key.id
  secret_string = random_password.api_key.result

  lifecycle {
    ignore_changes = [secret_string]
  }
}

# The fingerprint key -----------------------------------------------------------------------------

# The HMAC key of the API keys' fingerprints in the security events (key_fingerprint). Every task
# reads the same one, so the events of one key correlate across tasks; without it each process
# draws a random key. Internal: never handed to a client. Generated once, like the API key (the
# state holds it); replacing it (put-secret-value, README) only breaks the correlation of
# fingerprints across the replacement.
resource "random_password" "fingerprint_key" {
  length  = 48
  special = false
}

resource "aws_secretsmanager_secret" "fingerprint_key" {
  #checkov:skip=CKV2_AWS_57:An internal HMAC key of log fingerprints, never handed to clients: rotating it only breaks the correlation of fingerprints across the rotation, so it is replaced by hand when needed (README "Secret rotation"); no rotation Lambda.
  name                    = "${var.name}/api/fingerprint-key"
  description             = "HMAC key of the API key fingerprints in the query API's security events (ONS_API_FINGERPRINT_KEY); internal, never handed to clients"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "fingerprint_key" {
  secret_id     = aws_secretsmanager_secret.fingerprint_key.id
  secret_string = random_password.fingerprint_key.result

  lifecycle {
    ignore_changes = [secret_string]
  }
}

# Network -----------------------------------------------------------------------------------------

resource "aws_security_group" "tasks" {
  name        = "${var.name}-api-tasks"
  description = "Query API tasks: 8000 from the API load balancer only; egress to InfluxDB and HTTPS"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-api-tasks" })
  # Its one ingress rule (8000 from the load balancer's security group) is in modules/alb.
}

resource "aws_vpc_security_group_egress_rule" "tasks" {
  for_each                     = local.egress
  security_group_id            = aws_security_group.tasks.id
  referenced_security_group_id = each.value.security_group
  cidr_ipv4                    = each.value.cidr
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = each.value.description
  tags                         = var.tags
}

module "alb" {
  source = "../alb"

  name                         = substr("${var.name}-api", 0, 32)
  target_group_name            = substr("${var.name}-api", 0, 32)
  security_group_name          = "${var.name}-api-alb"
  purpose                      = "query API"
  target_description           = "the query API tasks"
  vpc_id                       = var.vpc_id
  subnet_ids                   = var.subnet_ids
  certificate_arn              = var.certificate_arn
  allowed_cidr_blocks          = var.allowed_cidr_blocks
  target_security_group_id     = aws_security_group.tasks.id
  target_port                  = local.port
  deregistration_delay_seconds = 30
  health_check                 = { path = "/health", interval = 15, timeout = 5 }
  access_logs_bucket_name      = var.access_logs_bucket_name
  tags                         = var.tags
}

# Task definition and service ---------------------------------------------------------------------

resource "aws_ecs_task_definition" "api" {
  #checkov:skip=CKV_AWS_336:The API caches its knowledge-base embeddings under ONS_STATE_DIR and the embedding libraries keep caches under HOME; the image is not verified to run read-only, so all Linux capabilities are dropped instead (as for Dagster).
  family                   = "${var.name}-api"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.task_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # The port is written as a literal (= local.port, a test checks it): checkov leaves a container
  # definition with an interpolated number unrendered, and its container checks then skip it.
  container_definitions = jsonencode([{
    name             = local.container_name
    image            = var.image
    essential        = true
    command          = ["ons-pipeline", "serve", "--host", "0.0.0.0", "--port", "8000"]
    portMappings     = [{ containerPort = 8000, protocol = "tcp" }]
    environment      = [for k, v in local.environment : { name = k, value = v }]
    secrets          = [for k, arn in local.secret_arns : { name = k, valueFrom = arn }]
    linuxParameters  = { initProcessEnabled = true, capabilities = { drop = ["ALL"] } }
    logConfiguration = { logDriver = "awslogs", options = { "awslogs-group" = aws_cloudwatch_log_group.api.name, "awslogs-region" = local.region, "awslogs-stream-prefix" = "api" } }
  }])

  tags = var.tags
}

resource "aws_ecs_service" "api" {
  name                               = "query-api"
  cluster                            = var.cluster_arn
  task_definition                    = aws_ecs_task_definition.api.arn
  desired_count                      = var.min_tasks
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  propagate_tags                     = "SERVICE"
  enable_execute_command             = false
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = var.health_check_grace_period_seconds

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = module.alb.target_group_arn
    container_name   = local.container_name
    container_port   = local.port
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  tags = var.tags

  # Application Auto Scaling owns the task count after creation (scaling.tf).
  lifecycle {
    ignore_changes = [desired_count]
  }

  # The target group must be attached to the load balancer before the service registers in it.
  depends_on = [module.alb]
}

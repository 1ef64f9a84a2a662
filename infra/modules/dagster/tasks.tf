# Task definitions and services. One image (the project's, with dagster.yaml and workspace.yaml
# under DAGSTER_HOME) for the three roles; commands differ. The three task definitions stay three
# blocks: checkov does not expand a for_each over them, and its container checks (privileged
# containers, host namespaces) would silently stop running on them.

locals {
  pg_secret_arn = aws_db_instance.this.master_user_secret[0].secret_arn

  # Every container: the ONS_* settings, Dagster's storage, the region.
  run_environment = merge(var.container_environment, {
    DAGSTER_HOME       = var.dagster_home
    DAGSTER_PG_HOST    = aws_db_instance.this.address
    DAGSTER_PG_PORT    = tostring(aws_db_instance.this.port)
    DAGSTER_PG_DB      = aws_db_instance.this.db_name
    AWS_REGION         = local.region
    AWS_DEFAULT_REGION = local.region
    PYTHONUNBUFFERED   = "1"
  })

  # The webserver and the daemon also launch runs (EcsRunLauncher); the runs do not (and the run
  # task definition cannot name its own ARN).
  base_environment = merge(local.run_environment, {
    DAGSTER_RUN_TASK_DEFINITION  = aws_ecs_task_definition.run.arn_without_revision
    DAGSTER_RUN_CONTAINER_NAME   = "run"
    DAGSTER_ECS_CLUSTER          = aws_ecs_cluster.this.name
    DAGSTER_RUN_TASK_ROLE_ARN    = var.run_task_role_arn
    DAGSTER_RUN_EXECUTION_ROLE   = var.execution_role_arn
    DAGSTER_CLI_API_GRPC_TIMEOUT = "180"
  })

  pg_secrets = [
    { name = "DAGSTER_PG_USERNAME", valueFrom = "${local.pg_secret_arn}:username::" },
    { name = "DAGSTER_PG_PASSWORD", valueFrom = "${local.pg_secret_arn}:password::" },
  ]
  pipeline_secrets = [for name, arn in var.container_secret_arns : { name = name, valueFrom = arn }]

  linux_parameters = {
    initProcessEnabled = true
    capabilities       = { drop = ["ALL"] }
  }

  runtime_platform = {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # Each container logs to its own group (webserver, daemon, run), the stream prefix its name.
  log_configuration = {
    for key, group in aws_cloudwatch_log_group.this : key => {
      logDriver = "awslogs"
      options   = { "awslogs-group" = group.name, "awslogs-region" = local.region, "awslogs-stream-prefix" = key }
    }
  }
}

resource "aws_ecs_task_definition" "webserver" {
  #checkov:skip=CKV_AWS_336:Dagster writes under DAGSTER_HOME (telemetry, local artifacts); the root filesystem stays writable, all Linux capabilities are dropped instead.
  family                   = "${var.name}-dagster-webserver"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.webserver_cpu
  memory                   = var.webserver_memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.control_task_role_arn

  runtime_platform {
    operating_system_family = local.runtime_platform.operating_system_family
    cpu_architecture        = local.runtime_platform.cpu_architecture
  }

  container_definitions = jsonencode([{
    name             = "webserver"
    image            = var.image
    essential        = true
    command          = ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "${var.dagster_home}/workspace.yaml"]
    portMappings     = [{ containerPort = 3000, protocol = "tcp" }]
    environment      = [for k, v in local.base_environment : { name = k, value = v }]
    secrets          = local.pg_secrets
    linuxParameters  = local.linux_parameters
    logConfiguration = local.log_configuration["webserver"]
  }])

  tags = var.tags
}

resource "aws_ecs_task_definition" "daemon" {
  #checkov:skip=CKV_AWS_336:Dagster writes under DAGSTER_HOME (telemetry, local artifacts); the root filesystem stays writable, all Linux capabilities are dropped instead.
  family                   = "${var.name}-dagster-daemon"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.daemon_cpu
  memory                   = var.daemon_memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.control_task_role_arn

  runtime_platform {
    operating_system_family = local.runtime_platform.operating_system_family
    cpu_architecture        = local.runtime_platform.cpu_architecture
  }

  container_definitions = jsonencode([{
    name             = "daemon"
    image            = var.image
    essential        = true
    command          = ["dagster-daemon", "run", "-w", "${var.dagster_home}/workspace.yaml"]
    environment      = [for k, v in local.base_environment : { name = k, value = v }]
    secrets          = concat(local.pg_secrets, local.pipeline_secrets)
    linuxParameters  = local.linux_parameters
    logConfiguration = local.log_configuration["daemon"]
  }])

  tags = var.tags
}

# EcsRunLauncher starts each run from this definition (task_definition: {env:
# DAGSTER_RUN_TASK_DEFINITION}, container_name: run); it overrides only the command.
resource "aws_ecs_task_definition" "run" {
  #checkov:skip=CKV_AWS_336:Dagster writes under DAGSTER_HOME (telemetry, local artifacts); the root filesystem stays writable, all Linux capabilities are dropped instead.
  family                   = "${var.name}-dagster-run"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.run_cpu
  memory                   = var.run_memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.run_task_role_arn

  runtime_platform {
    operating_system_family = local.runtime_platform.operating_system_family
    cpu_architecture        = local.runtime_platform.cpu_architecture
  }

  ephemeral_storage {
    size_in_gib = var.run_ephemeral_storage_gib
  }

  container_definitions = jsonencode([{
    name             = "run"
    image            = var.image
    essential        = true
    environment      = [for k, v in local.run_environment : { name = k, value = v }]
    secrets          = concat(local.pg_secrets, local.pipeline_secrets)
    linuxParameters  = local.linux_parameters
    logConfiguration = local.log_configuration["run"]
  }])

  tags = var.tags
}

resource "aws_ecs_service" "webserver" {
  name                   = "dagster-webserver"
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.webserver.arn
  desired_count          = var.webserver_desired_count
  launch_type            = "FARGATE"
  platform_version       = "LATEST"
  propagate_tags         = "SERVICE"
  enable_execute_command = false

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id, aws_security_group.webserver.id]
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = local.ui_enabled ? [1] : []
    content {
      target_group_arn = module.ui_alb[0].target_group_arn
      container_name   = "webserver"
      container_port   = 3000
    }
  }

  health_check_grace_period_seconds = local.ui_enabled ? 120 : null

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  tags = var.tags

  # The target group must be attached to the load balancer before the service registers in it.
  depends_on = [module.ui_alb]
}

# Exactly one daemon: never two at once, even during a deployment.
resource "aws_ecs_service" "daemon" {
  name                               = "dagster-daemon"
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.daemon.arn
  desired_count                      = 1
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  propagate_tags                     = "SERVICE"
  enable_execute_command             = false
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  tags = var.tags
}

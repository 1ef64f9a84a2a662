# The root module: the whole ons-pipeline environment. One configuration for every environment;
# each environment is a pair of files, envs/<env>.tfvars and envs/<env>.tfbackend (see README).

data "aws_caller_identity" "current" {}

locals {
  name       = "${var.project}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  tags = merge(var.tags, {
    Project     = var.project
    Environment = var.environment
  })

  data_bucket_name          = coalesce(var.data_bucket_name, "${local.name}-data-${local.account_id}")
  influxdb_logs_bucket_name = "${local.name}-influxdb-logs-${local.account_id}"
  access_logs_bucket_name   = "${local.name}-access-logs-${local.account_id}"

  influx_engine_digit = var.influxdb_engine == "v2" ? "2" : "3"

  # How every InfluxDB client of the project (the Dagster tasks, the query API) finds InfluxDB;
  # the token comes from Secrets Manager (ONS_INFLUX_TOKEN), a different one for each.
  influx_environment = {
    ONS_INFLUX_URL        = module.influxdb.url
    ONS_INFLUX_ENGINE     = local.influx_engine_digit
    ONS_INFLUX_DATABASE   = module.influxdb.database
    ONS_INFLUX_ORG        = var.influxdb_engine == "v2" ? var.influxdb_organization : ""
    ONS_INFLUX_AUTH       = "token"
    ONS_INFLUX_VERIFY_TLS = "true"
  }

  # The query API besides InfluxDB: where its request metrics go (setting the environment turns
  # them on) and, when var.api_bedrock names them, the Bedrock knowledge base and model.
  api_environment = {
    ONS_METRICS_NAMESPACE         = var.pipeline_metrics_namespace
    ONS_METRICS_ENVIRONMENT       = var.environment
    ONS_RAG_RETRIEVER             = var.api_bedrock.knowledge_base_id == null ? "local" : "bedrock"
    ONS_BEDROCK_KNOWLEDGE_BASE_ID = var.api_bedrock.knowledge_base_id == null ? "" : var.api_bedrock.knowledge_base_id
    ONS_BEDROCK_MODEL_ID          = var.api_bedrock.model_id == null ? "" : var.api_bedrock.model_id
    ONS_BEDROCK_REGION            = var.api_bedrock.region == null ? "" : var.api_bedrock.region
  }

  # Retention per group of measurements, applied by the pipeline (see variables.tf).
  retention_environment = {
    for group, duration in var.influxdb_retention : "ONS_RETENTION_${upper(group)}" => duration
  }
}

module "kms" {
  source = "./modules/kms"
  name   = local.name
  tags   = local.tags
}

module "network" {
  source             = "./modules/network"
  name               = local.name
  cidr_block         = var.vpc_cidr_block
  availability_zones = var.availability_zones
  single_nat_gateway = var.single_nat_gateway
  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.key_arn
  tags               = local.tags
}

module "storage" {
  source                     = "./modules/storage"
  data_bucket_name           = local.data_bucket_name
  influxdb_logs_bucket_name  = local.influxdb_logs_bucket_name
  access_logs_bucket_name    = local.access_logs_bucket_name
  prefixes                   = var.s3_prefixes
  kms_key_arn                = module.kms.key_arn
  unload_expiration_days     = var.unload_expiration_days
  deadletter_expiration_days = var.deadletter_expiration_days
  tags                       = local.tags
}

module "influxdb" {
  source = "./modules/influxdb"

  name                          = local.name
  engine                        = var.influxdb_engine
  db_instance_type              = var.influxdb_instance_type
  db_storage_type               = var.influxdb_storage_type
  allocated_storage             = var.influxdb_allocated_storage
  deployment_type               = var.influxdb_deployment_type
  db_parameter_group_identifier = var.influxdb_parameter_group_identifier
  v3_parameter_group_identifier = var.influxdb_v3_parameter_group_identifier
  organization                  = var.influxdb_organization
  initial_bucket                = var.influxdb_bucket
  admin_username                = var.influxdb_admin_username

  vpc_id                  = module.network.vpc_id
  subnet_ids              = module.network.private_subnet_ids
  allowed_security_groups = { pipeline_tasks = module.dagster.tasks_security_group_id, api_tasks = module.api.tasks_security_group_id }
  log_bucket_name         = module.storage.influxdb_logs_bucket_name
  kms_key_arn             = module.kms.key_arn
  tags                    = local.tags
}

module "monitoring" {
  source = "./modules/monitoring"

  name                       = local.name
  kms_key_arn                = module.kms.key_arn
  alarm_emails               = var.alarm_emails
  influxdb_instance_name     = var.influxdb_engine == "v2" ? module.influxdb.name : null
  influxdb_metrics_namespace = var.influxdb_metrics_namespace
  influxdb_cpu_threshold     = var.influxdb_cpu_alarm_threshold
  influxdb_disk_threshold    = var.influxdb_disk_alarm_threshold
  pipeline_metrics_namespace = var.pipeline_metrics_namespace
  pipeline_metric_dimensions = { Environment = var.environment }
  load_lag_threshold_seconds = var.load_lag_alarm_seconds
  points_per_second_min      = var.points_per_second_alarm_min

  api_load_balancer_arn_suffix   = module.api.load_balancer_arn_suffix
  api_target_group_arn_suffix    = module.api.target_group_arn_suffix
  api_latency_threshold_seconds  = var.api_latency_alarm_seconds
  api_5xx_rate_threshold_percent = var.api_5xx_alarm_percent

  tags = local.tags
}

module "iam" {
  source = "./modules/iam"

  # influxdb_secret_arns: the pipeline's token only. The admin secret (auth_secret_arn) is for the
  # operator who creates the tokens (README, step 4), never for a task.
  name                    = local.name
  data_bucket_arn         = module.storage.data_bucket_arn
  prefixes                = module.storage.prefixes
  kms_key_arn             = module.kms.key_arn
  timestream_databases    = var.timestream_databases
  allow_timestream_unload = var.allow_timestream_unload
  influxdb_secret_arns    = [module.influxdb.pipeline_token_secret_arn]
  metrics_namespace       = var.pipeline_metrics_namespace
  alarm_topic_arn         = module.monitoring.alarm_topic_arn
  ecr_repository_arn      = var.ecr_repository_arn
  api_bedrock             = var.api_bedrock
  execution_grants = {
    execution     = { log_group_arns = module.dagster.log_group_arns, secret_arns = module.dagster.injected_secret_arns }
    api_execution = { log_group_arns = module.api.log_group_arns, secret_arns = module.api.injected_secret_arns }
  }
  tags = local.tags
}

module "dagster" {
  source = "./modules/dagster"

  name                   = local.name
  vpc_id                 = module.network.vpc_id
  subnet_ids             = module.network.private_subnet_ids
  kms_key_arn            = module.kms.key_arn
  image                  = var.dagster_image
  cpu_architecture       = var.cpu_architecture
  control_task_role_arn  = module.iam.task_roles["control"].arn
  control_task_role_name = module.iam.task_roles["control"].name
  run_task_role_arn      = module.iam.task_roles["run"].arn
  execution_role_arn     = module.iam.task_roles["execution"].arn

  influxdb_security_group_id = module.influxdb.security_group_id
  influxdb_port              = module.influxdb.port

  container_environment = merge(local.influx_environment, local.retention_environment, {
    ONS_S3_BUCKET                  = module.storage.data_bucket_name
    ONS_S3_PARQUET_PREFIX          = module.storage.prefixes.parquet
    ONS_S3_UNLOAD_PREFIX           = module.storage.prefixes.unload
    ONS_S3_RAW_PREFIX              = module.storage.prefixes.raw
    ONS_S3_DEADLETTER_PREFIX       = module.storage.prefixes.deadletter
    ONS_TIMESTREAM_DATABASE        = var.timestream_databases[0]
    ONS_TIMESTREAM_LEGACY_DATABASE = length(var.timestream_databases) > 1 ? var.timestream_databases[1] : var.timestream_databases[0]
    ONS_EXPORT_MODE                = var.allow_timestream_unload ? "unload" : "query"
    ONS_INFLUX_SECRET_ARN          = module.influxdb.pipeline_token_secret_arn
    ONS_METRICS_NAMESPACE          = var.pipeline_metrics_namespace
    ONS_METRICS_ENVIRONMENT        = var.environment
    ONS_ALARM_TOPIC_ARN            = module.monitoring.alarm_topic_arn
  })
  container_secret_arns = {
    ONS_INFLUX_TOKEN = module.influxdb.pipeline_token_secret_arn
  }

  webserver_cpu             = var.webserver_cpu
  webserver_memory          = var.webserver_memory
  daemon_cpu                = var.daemon_cpu
  daemon_memory             = var.daemon_memory
  run_cpu                   = var.run_cpu
  run_memory                = var.run_memory
  run_ephemeral_storage_gib = var.run_ephemeral_storage_gib

  ui_certificate_arn      = var.ui_certificate_arn
  ui_allowed_cidr_blocks  = var.ui_allowed_cidr_blocks
  access_logs_bucket_name = module.storage.access_logs_bucket_name

  rds_instance_class        = var.rds_instance_class
  rds_multi_az              = var.rds_multi_az
  rds_backup_retention_days = var.rds_backup_retention_days
  log_retention_days        = var.log_retention_days
  tags                      = local.tags
}

# The query API (`ons-pipeline serve`) in the same cluster, behind its own internal HTTPS load
# balancer, reading InfluxDB with the read-only API token.
module "api" {
  source = "./modules/api"

  name               = local.name
  vpc_id             = module.network.vpc_id
  subnet_ids         = module.network.private_subnet_ids
  cluster_arn        = module.dagster.cluster_arn
  cluster_name       = module.dagster.cluster_name
  kms_key_arn        = module.kms.key_arn
  image              = var.dagster_image
  cpu_architecture   = var.cpu_architecture
  task_role_arn      = module.iam.task_roles["api"].arn
  execution_role_arn = module.iam.task_roles["api_execution"].arn

  influxdb_security_group_id = module.influxdb.security_group_id
  influxdb_port              = module.influxdb.port

  container_environment = merge(local.influx_environment, local.api_environment)
  container_secret_arns = {
    ONS_INFLUX_TOKEN = module.influxdb.api_token_secret_arn
  }

  certificate_arn                  = var.api_certificate_arn
  allowed_cidr_blocks              = distinct(concat([var.vpc_cidr_block], var.api_allowed_cidr_blocks))
  load_balancer_subnet_cidr_blocks = module.network.private_subnet_cidr_blocks
  access_logs_bucket_name          = module.storage.access_logs_bucket_name

  cpu                 = var.api_cpu
  memory              = var.api_memory
  min_tasks           = var.api_min_tasks
  max_tasks           = var.api_max_tasks
  requests_per_target = var.api_requests_per_target
  cpu_target_percent  = var.api_cpu_target_percent
  log_retention_days  = var.log_retention_days
  tags                = local.tags
}

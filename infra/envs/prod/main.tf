module "stack" {
  source = "../../modules/stack"

  environment = var.environment
  tags        = var.tags

  vpc_cidr_block     = var.vpc_cidr_block
  availability_zones = var.availability_zones
  single_nat_gateway = var.single_nat_gateway
  log_retention_days = var.log_retention_days

  unload_expiration_days     = var.unload_expiration_days
  deadletter_expiration_days = var.deadletter_expiration_days

  timestream_databases    = var.timestream_databases
  allow_timestream_unload = var.allow_timestream_unload

  influxdb_engine                        = var.influxdb_engine
  influxdb_instance_type                 = var.influxdb_instance_type
  influxdb_storage_type                  = var.influxdb_storage_type
  influxdb_allocated_storage             = var.influxdb_allocated_storage
  influxdb_deployment_type               = var.influxdb_deployment_type
  influxdb_parameter_group_identifier    = var.influxdb_parameter_group_identifier
  influxdb_v3_parameter_group_identifier = var.influxdb_v3_parameter_group_identifier
  influxdb_organization                  = var.influxdb_organization
  influxdb_bucket                        = var.influxdb_bucket

  alarm_emails                  = var.alarm_emails
  influxdb_metrics_namespace    = var.influxdb_metrics_namespace
  influxdb_cpu_alarm_threshold  = var.influxdb_cpu_alarm_threshold
  influxdb_disk_alarm_threshold = var.influxdb_disk_alarm_threshold
  load_lag_alarm_seconds        = var.load_lag_alarm_seconds
  points_per_second_alarm_min   = var.points_per_second_alarm_min

  dagster_image             = var.dagster_image
  ecr_repository_arn        = var.ecr_repository_arn
  cpu_architecture          = var.cpu_architecture
  webserver_cpu             = var.webserver_cpu
  webserver_memory          = var.webserver_memory
  daemon_cpu                = var.daemon_cpu
  daemon_memory             = var.daemon_memory
  run_cpu                   = var.run_cpu
  run_memory                = var.run_memory
  run_ephemeral_storage_gib = var.run_ephemeral_storage_gib
  ui_certificate_arn        = var.ui_certificate_arn
  ui_allowed_cidr_blocks    = var.ui_allowed_cidr_blocks

  rds_instance_class        = var.rds_instance_class
  rds_multi_az              = var.rds_multi_az
  rds_backup_retention_days = var.rds_backup_retention_days
}

# Amazon Timestream for InfluxDB.
#   engine = "v2": aws_timestreaminfluxdb_db_instance (InfluxDB 2.x), single-AZ or with a
#                  Multi-AZ standby (deployment_type = "WITH_MULTIAZ_STANDBY"), port 8086.
#   engine = "v3": aws_timestreaminfluxdb_db_cluster with an InfluxDB 3 service parameter group
#                  (InfluxDBV3Core / InfluxDBV3Enterprise), port 8181; V3 takes no storage,
#                  bucket, organization, username or password (the service creates an admin token).
# Both: inside the VPC, never publicly accessible, engine logs to S3, reachable only from the
# security groups in var.allowed_security_groups on the InfluxDB port.
# Deletion: the service takes no snapshots, so both carry lifecycle { prevent_destroy = true }:
# Terraform refuses any plan that would delete them (destroy, an engine switch, a change forcing a
# replacement). A literal, as Terraform requires there, in every environment; removing one is a
# deliberate edit (README, "Destroying an environment"). Checked by CKV_ONS_6 and the tests.
# Encryption at rest: the service's (AWS-owned) key. The API takes a customer-managed KmsKeyId
# since 2026-08, but the provider has no kms_key_id argument yet (see README); add it here,
# = var.kms_key_arn, once released (creation-time only: it replaces an existing database).

locals {
  is_v2 = var.engine == "v2"
  is_v3 = var.engine == "v3"
  port  = coalesce(var.port, local.is_v2 ? 8086 : 8181)
  # The host name of the one database the engine creates: the v2 instance or the v3 cluster.
  endpoint = one(concat(aws_timestreaminfluxdb_db_instance.this[*].endpoint, aws_timestreaminfluxdb_db_cluster.this[*].endpoint))
}

# InfluxDB 2.x admin password: generated, stored by the service in the Secrets Manager secret it
# creates (influx_auth_parameters_secret_arn), never written in a .tf or .tfvars file. It is in the
# Terraform state: keep the state in the encrypted, access-restricted backend (see README).
resource "random_password" "admin" {
  count   = local.is_v2 ? 1 : 0
  length  = 40
  special = false # the service accepts [a-zA-Z0-9] only (8-64 characters)
}

resource "aws_security_group" "influxdb" {
  #checkov:skip=CKV2_AWS_5:Attached to the Timestream for InfluxDB instance/cluster (vpc_security_group_ids), a resource type checkov's graph does not link.
  name        = "${var.name}-influxdb"
  description = "Timestream for InfluxDB ${var.engine}: the InfluxDB port from the pipeline tasks only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-influxdb" })
  # No egress rule: the database never initiates connections.
}

resource "aws_vpc_security_group_ingress_rule" "influxdb" {
  for_each = var.allowed_security_groups

  security_group_id            = aws_security_group.influxdb.id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  description                  = "InfluxDB ${local.port} from ${each.key}"
  tags                         = var.tags
}

resource "aws_timestreaminfluxdb_db_instance" "this" {
  count = local.is_v2 ? 1 : 0

  name                          = var.name
  db_instance_type              = var.db_instance_type
  db_storage_type               = var.db_storage_type
  allocated_storage             = var.allocated_storage
  deployment_type               = var.deployment_type
  db_parameter_group_identifier = var.db_parameter_group_identifier
  network_type                  = var.network_type
  port                          = local.port

  organization = var.organization
  bucket       = var.initial_bucket
  username     = var.admin_username
  password     = random_password.admin[0].result

  publicly_accessible    = false
  vpc_subnet_ids         = var.subnet_ids
  vpc_security_group_ids = [aws_security_group.influxdb.id]

  log_delivery_configuration {
    s3_configuration {
      bucket_name = var.log_bucket_name
      enabled     = true
    }
  }

  tags = var.tags

  lifecycle {
    prevent_destroy = true

    precondition {
      condition     = var.deployment_type != "WITH_MULTIAZ_STANDBY" || length(var.subnet_ids) >= 2
      error_message = "A Multi-AZ standby needs at least two subnets in different availability zones."
    }
  }
}

resource "aws_timestreaminfluxdb_db_cluster" "this" {
  count = local.is_v3 ? 1 : 0

  name                          = var.name
  db_instance_type              = var.db_instance_type
  db_parameter_group_identifier = var.v3_parameter_group_identifier
  network_type                  = var.network_type
  port                          = local.port

  publicly_accessible    = false
  vpc_subnet_ids         = var.subnet_ids
  vpc_security_group_ids = [aws_security_group.influxdb.id]

  log_delivery_configuration {
    s3_configuration {
      bucket_name = var.log_bucket_name
      enabled     = true
    }
  }

  tags = var.tags

  lifecycle {
    prevent_destroy = true
  }
}

# The InfluxDB API tokens of the project's own clients live here, one secret each, created after
# provisioning with the influx CLI or the InfluxDB 3 admin token (see README):
#   pipeline  read-write on the pipeline's bucket/database: the Dagster tasks (ONS_INFLUX_TOKEN)
#   api       read-only: the query API's tasks (ONS_INFLUX_TOKEN there), which run user queries
# Terraform creates each secret with a placeholder and never overwrites the real value afterwards.
locals {
  token_secrets = {
    pipeline = "InfluxDB API token the ons-pipeline tasks use (ONS_INFLUX_TOKEN)"
    api      = "Read-only InfluxDB API token of the query API tasks (ONS_INFLUX_TOKEN)"
  }
}

resource "aws_secretsmanager_secret" "token" {
  #checkov:skip=CKV2_AWS_57:InfluxDB API tokens are rotated with the influx CLI (no rotation Lambda exists for them); see README "Secret rotation".
  for_each                = local.token_secrets
  name                    = "${var.name}/influxdb/${each.key}-token"
  description             = each.value
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "token_placeholder" {
  for_each      = local.token_secrets
  secret_id     = aws_secretsmanager_secret.token[each.key].id
  secret_string = "unset-put-the-${each.key}-token-here"

  lifecycle {
    ignore_changes = [secret_string]
  }
}

# Inputs of this environment; values in terraform.tfvars. No secret is an input: the InfluxDB
# admin password is generated, the PostgreSQL password is managed by RDS, the pipeline's
# InfluxDB token is put in Secrets Manager after apply (README).

variable "region" {
  description = "AWS region; the Timestream (LiveAnalytics) source and the data bucket must share it (UNLOAD)."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "tags" {
  description = "Extra tags."
  type        = map(string)
  default     = {}
}

variable "vpc_cidr_block" {
  description = "CIDR of the VPC."
  type        = string
}

variable "availability_zones" {
  description = "Zone names, 2 or 3."
  type        = list(string)
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs."
  type        = bool
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group, days."
  type        = number
  default     = 365
}

variable "unload_expiration_days" {
  description = "Days before leftovers under unload/ expire."
  type        = number
  default     = 7
}

variable "deadletter_expiration_days" {
  description = "Days before dead letters expire."
  type        = number
  default     = 180
}

variable "timestream_databases" {
  description = "Timestream for LiveAnalytics databases the export reads."
  type        = list(string)
  default     = ["ons", "ons_energy_data"]
}

variable "allow_timestream_unload" {
  description = "Export with UNLOAD (true) or paged Query (false)."
  type        = bool
  default     = true
}

variable "influxdb_engine" {
  description = "\"v2\" (DB instance) or \"v3\" (DB cluster)."
  type        = string
}

variable "influxdb_instance_type" {
  description = "db.influx.* class."
  type        = string
}

variable "influxdb_storage_type" {
  description = "InfluxIOIncludedT1 / T2 / T3 (v2)."
  type        = string
  default     = "InfluxIOIncludedT1"
}

variable "influxdb_allocated_storage" {
  description = "Storage, GiB (v2)."
  type        = number
  default     = 20
}

variable "influxdb_deployment_type" {
  description = "SINGLE_AZ or WITH_MULTIAZ_STANDBY (v2)."
  type        = string
  default     = "SINGLE_AZ"
}

variable "influxdb_parameter_group_identifier" {
  description = "V2 DB parameter group ID (created outside Terraform); null = defaults."
  type        = string
  default     = null
}

variable "influxdb_v3_parameter_group_identifier" {
  description = "V3 parameter group (InfluxDBV3Core, InfluxDBV3Enterprise, custom)."
  type        = string
  default     = "InfluxDBV3Core"
}

variable "influxdb_organization" {
  description = "V2 initial organization."
  type        = string
  default     = "ons"
}

variable "influxdb_bucket" {
  description = "V2 initial bucket."
  type        = string
  default     = "ons"
}

variable "alarm_emails" {
  description = "E-mail subscriptions of the alarm topic."
  type        = list(string)
  default     = []
}

variable "influxdb_metrics_namespace" {
  description = "CloudWatch namespace of the Timestream for InfluxDB metrics (confirm, see README)."
  type        = string
  default     = "AWS/Timestream-InfluxDB"
}

variable "influxdb_cpu_alarm_threshold" {
  description = "CPUUtilization alarm threshold, percent."
  type        = number
  default     = 80
}

variable "influxdb_disk_alarm_threshold" {
  description = "DiskUtilization alarm threshold, percent."
  type        = number
  default     = 75
}

variable "load_lag_alarm_seconds" {
  description = "LoadLagSeconds alarm threshold."
  type        = number
  default     = 129600
}

variable "points_per_second_alarm_min" {
  description = "PointsPerSecond alarm floor."
  type        = number
  default     = 1000
}

variable "dagster_image" {
  description = "Image of the project."
  type        = string
}

variable "ecr_repository_arn" {
  description = "ECR repository of the image; null for a public image."
  type        = string
  default     = null
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64."
  type        = string
  default     = "X86_64"
}

variable "webserver_cpu" {
  description = "Webserver CPU units."
  type        = number
  default     = 1024
}

variable "webserver_memory" {
  description = "Webserver memory, MiB."
  type        = number
  default     = 2048
}

variable "daemon_cpu" {
  description = "Daemon CPU units."
  type        = number
  default     = 512
}

variable "daemon_memory" {
  description = "Daemon memory, MiB."
  type        = number
  default     = 2048
}

variable "run_cpu" {
  description = "CPU units of each run."
  type        = number
  default     = 2048
}

variable "run_memory" {
  description = "Memory of each run, MiB."
  type        = number
  default     = 8192
}

variable "run_ephemeral_storage_gib" {
  description = "Ephemeral storage of each run, GiB."
  type        = number
  default     = 40
}

variable "ui_certificate_arn" {
  description = "ACM certificate of the internal UI load balancer; null = none."
  type        = string
  default     = null
}

variable "ui_allowed_cidr_blocks" {
  description = "CIDR ranges allowed to the UI (never 0.0.0.0/0)."
  type        = list(string)
  default     = []
}

variable "rds_instance_class" {
  description = "Instance class of the Dagster PostgreSQL."
  type        = string
  default     = "db.t4g.medium"
}

variable "rds_multi_az" {
  description = "Multi-AZ Dagster PostgreSQL."
  type        = bool
  default     = false
}

variable "rds_backup_retention_days" {
  description = "Backup retention, days."
  type        = number
  default     = 7
}

# Inputs of the root module; each environment sets them in envs/<env>.tfvars. The variables
# without a default are the choices every environment must make. No secret is an input: the
# InfluxDB admin password is generated, the PostgreSQL password is managed by RDS, the pipeline's
# InfluxDB token is put in Secrets Manager after apply (README).

# General ----------------------------------------------------------------------------------------

variable "region" {
  description = "AWS region; the Timestream (LiveAnalytics) source and the data bucket must share it (UNLOAD)."
  type        = string
}

variable "project" {
  description = "Project name, first part of every resource name."
  type        = string
  default     = "ons-pipeline"
}

variable "environment" {
  description = "Environment name (dev, prod): second part of every resource name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment: 2-10 lowercase letters or digits, starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group, days."
  type        = number
  default     = 365
}

# Network ----------------------------------------------------------------------------------------

variable "vpc_cidr_block" {
  description = "CIDR of the VPC."
  type        = string
}

variable "availability_zones" {
  description = "Zone names, 2 or 3 (e.g. [\"us-east-1a\", \"us-east-1b\"])."
  type        = list(string)
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per AZ."
  type        = bool
}

# Storage ----------------------------------------------------------------------------------------

variable "data_bucket_name" {
  description = "Name of the data bucket; null = <project>-<environment>-data-<account id>."
  type        = string
  default     = null
}

variable "s3_prefixes" {
  description = "Prefixes of the data bucket (match ONS_S3_*_PREFIX)."
  type = object({
    parquet    = string
    unload     = string
    raw        = string
    deadletter = string
  })
  default = {
    parquet    = "parquet"
    unload     = "unload"
    raw        = "raw"
    deadletter = "deadletter"
  }
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

# Timestream (source) ------------------------------------------------------------------------------

variable "timestream_databases" {
  description = "Timestream for LiveAnalytics databases read by the export: [ONS_TIMESTREAM_DATABASE, ONS_TIMESTREAM_LEGACY_DATABASE]."
  type        = list(string)
  default     = ["ons", "ons_energy_data"]
}

variable "allow_timestream_unload" {
  description = "Export with UNLOAD (ONS_EXPORT_MODE=unload) and grant what it needs; false = paged Query only."
  type        = bool
  default     = true
}

# Timestream for InfluxDB (target) ---------------------------------------------------------------

variable "influxdb_engine" {
  description = "\"v2\" (DB instance, InfluxDB 2.x) or \"v3\" (DB cluster, InfluxDB 3)."
  type        = string
}

variable "influxdb_instance_type" {
  description = "db.influx.* instance class."
  type        = string
}

variable "influxdb_storage_type" {
  description = "V2 storage tier: InfluxIOIncludedT1 / T2 / T3."
  type        = string
  default     = "InfluxIOIncludedT1"
}

variable "influxdb_allocated_storage" {
  description = "V2 storage, GiB (400+ for T2/T3)."
  type        = number
  default     = 20
}

variable "influxdb_deployment_type" {
  description = "V2: SINGLE_AZ or WITH_MULTIAZ_STANDBY."
  type        = string
  default     = "SINGLE_AZ"
}

variable "influxdb_parameter_group_identifier" {
  description = "V2 DB parameter group ID (created outside Terraform, see README); null = defaults."
  type        = string
  default     = null
}

variable "influxdb_v3_parameter_group_identifier" {
  description = "V3 parameter group: InfluxDBV3Core, InfluxDBV3Enterprise or a custom one."
  type        = string
  default     = "InfluxDBV3Core"
}

variable "influxdb_organization" {
  description = "V2 initial organization (ONS_INFLUX_ORG)."
  type        = string
  default     = "ons"
}

variable "influxdb_bucket" {
  description = "V2 initial bucket (ONS_INFLUX_DATABASE)."
  type        = string
  default     = "ons"
}

variable "influxdb_admin_username" {
  description = "V2 initial admin user name (its password is generated)."
  type        = string
  default     = "ons-admin"
}

# How long InfluxDB keeps each group of measurements (groups declared in
# ons_pipeline/lib/tables.toml, [retention.<group>]). Bucket retention is an InfluxDB setting, not
# an AWS one (aws_timestreaminfluxdb_* creates only the initial bucket, kept forever): Terraform
# hands these to the Dagster tasks as ONS_RETENTION_<GROUP>, and the influxdb_retention asset applies
# them through the InfluxDB API (a shorter duration than the server's is refused unless
# ONS_RETENTION_ALLOW_SHORTEN is set by hand). Raw ONS history is kept forever unless said here.
variable "influxdb_retention" {
  description = "Retention per group of measurements: INF or an InfluxQL duration (e.g. 3650d)."
  type        = map(string)
  default = {
    raw     = "INF"
    rollups = "INF"
  }

  validation {
    condition = alltrue([
      for duration in values(var.influxdb_retention) :
      can(regex("^(INF|([0-9]+(ns|u|ms|s|m|h|d|w))+)$", duration))
    ])
    error_message = "Each retention is INF or an InfluxQL duration such as 400d or 520w."
  }

  validation {
    condition     = alltrue([for group in keys(var.influxdb_retention) : can(regex("^[a-z][a-z0-9_]*$", group))])
    error_message = "Retention groups are the lower-case names of tables.toml's [retention.<group>]."
  }
}

# Monitoring -------------------------------------------------------------------------------------

variable "alarm_emails" {
  description = "E-mail subscriptions of the alarm topic."
  type        = list(string)
  default     = []
}

variable "influxdb_metrics_namespace" {
  description = "CloudWatch namespace of the Timestream for InfluxDB metrics (confirm with list-metrics, see README)."
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

variable "pipeline_metrics_namespace" {
  description = "Namespace of the pipeline's metrics (the only one its role may write)."
  type        = string
  default     = "ONS/Pipeline"
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

# Dagster ----------------------------------------------------------------------------------------

variable "dagster_image" {
  description = "Image of the project (dagster.yaml + workspace.yaml in DAGSTER_HOME)."
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
  description = "ACM certificate of the internal UI load balancer; null = no load balancer."
  type        = string
  default     = null
}

variable "ui_allowed_cidr_blocks" {
  description = "CIDR ranges allowed to the UI load balancer (never 0.0.0.0/0)."
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
  description = "Backup retention of the Dagster PostgreSQL, days."
  type        = number
  default     = 7
}

# Query API --------------------------------------------------------------------------------------

variable "api_certificate_arn" {
  description = "ACM certificate of the query API's internal HTTPS load balancer."
  type        = string
}

variable "api_allowed_cidr_blocks" {
  description = "CIDR ranges allowed to the API load balancer besides the VPC (e.g. the VPN range). Never 0.0.0.0/0."
  type        = list(string)
  default     = []
}

variable "api_min_tasks" {
  description = "Fewest API tasks (Application Auto Scaling minimum, and the count at creation)."
  type        = number
  default     = 2
}

variable "api_max_tasks" {
  description = "Most API tasks (Application Auto Scaling maximum)."
  type        = number
  default     = 6
}

variable "api_cpu" {
  description = "CPU units of each API task."
  type        = number
  default     = 1024
}

variable "api_memory" {
  description = "Memory of each API task, MiB."
  type        = number
  default     = 2048
}

variable "api_requests_per_target" {
  description = "Target of the request scaling policy: requests a minute per API task."
  type        = number
  default     = 600
}

variable "api_cpu_target_percent" {
  description = "Target of the CPU scaling policy: average CPU of the API tasks, percent."
  type        = number
  default     = 60
}

variable "api_latency_alarm_seconds" {
  description = "API p95 response time alarm threshold, seconds."
  type        = number
  default     = 3
}

variable "api_5xx_alarm_percent" {
  description = "API 5xx alarm threshold, percent of requests."
  type        = number
  default     = 5
}

variable "api_bedrock" {
  description = "The query API on an existing Amazon Bedrock knowledge base (knowledge_base_id: ONS_RAG_RETRIEVER=bedrock) and/or foundation model for its answers (model_id: Converse), in region (default: this one). Unset = the local MiniLM index and template answers."
  type = object({
    knowledge_base_id = optional(string)
    model_id          = optional(string)
    region            = optional(string)
  })
  default = {}
}

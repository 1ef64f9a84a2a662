variable "name" {
  description = "Name prefix, e.g. ons-pipeline-prod (also the ECS cluster name)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the tasks, the load balancer and the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (tasks, internal load balancer, database subnet group)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Give at least two private subnets (RDS and the load balancer need two AZs)."
  }
}

variable "kms_key_arn" {
  description = "Environment KMS key (log groups, RDS storage, Performance Insights, master secret)."
  type        = string
}

variable "image" {
  description = "Container image with the project, dagster.yaml and workspace.yaml (e.g. <account>.dkr.ecr.<region>.amazonaws.com/ons-pipeline:<tag>)."
  type        = string
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64 (must match the image)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "dagster_home" {
  description = "DAGSTER_HOME inside the image (holds dagster.yaml and workspace.yaml)."
  type        = string
  default     = "/opt/dagster/dagster_home"
}

variable "container_environment" {
  description = "Non-secret environment of every Dagster container (ONS_* settings)."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for k in keys(var.container_environment) :
      !can(regex("(?i)(password|token|secret_key|access_key)$", k))
    ])
    error_message = "Secrets go in container_secret_arns (injected from Secrets Manager), not in container_environment."
  }
}

variable "container_secret_arns" {
  description = "Environment variables injected from Secrets Manager into the daemon and run containers: name => secret ARN (whole secret value)."
  type        = map(string)
  default     = {}
}

variable "control_task_role_arn" {
  description = "Task role of the webserver and daemon (pipeline policy; this module adds the run launcher policy)."
  type        = string
}

variable "control_task_role_name" {
  description = "Name of that role."
  type        = string
}

variable "run_task_role_arn" {
  description = "Task role of the runs."
  type        = string
}

variable "execution_role_arn" {
  description = "Task execution role of every Dagster task (modules/iam grants it pull, logs and secrets)."
  type        = string
}

variable "influxdb_security_group_id" {
  description = "Security group of the InfluxDB instance (the tasks' egress target)."
  type        = string
}

variable "influxdb_port" {
  description = "InfluxDB port."
  type        = number
}

variable "webserver_cpu" {
  description = "Fargate CPU units of the webserver."
  type        = number
  default     = 1024
}

variable "webserver_memory" {
  description = "Fargate memory (MiB) of the webserver."
  type        = number
  default     = 2048
}

variable "webserver_desired_count" {
  description = "Webserver tasks."
  type        = number
  default     = 1
}

variable "daemon_cpu" {
  description = "Fargate CPU units of the daemon."
  type        = number
  default     = 512
}

variable "daemon_memory" {
  description = "Fargate memory (MiB) of the daemon."
  type        = number
  default     = 2048
}

variable "run_cpu" {
  description = "Fargate CPU units of each run."
  type        = number
  default     = 2048
}

variable "run_memory" {
  description = "Fargate memory (MiB) of each run."
  type        = number
  default     = 8192
}

variable "run_ephemeral_storage_gib" {
  description = "Ephemeral storage of each run (Parquet staging), 21-200 GiB."
  type        = number
  default     = 40

  validation {
    condition     = var.run_ephemeral_storage_gib >= 21 && var.run_ephemeral_storage_gib <= 200
    error_message = "run_ephemeral_storage_gib must be between 21 and 200."
  }
}

variable "ui_certificate_arn" {
  description = "ACM certificate of the internal UI load balancer; null = no load balancer."
  type        = string
  default     = null
}

variable "ui_allowed_cidr_blocks" {
  description = "CIDR ranges allowed to reach the UI load balancer on 443 (VPN, office). Never 0.0.0.0/0 (modules/alb rejects it)."
  type        = list(string)
  default     = []
}

variable "access_logs_bucket_name" {
  description = "Bucket for the load balancer access logs (prefix alb/)."
  type        = string
}

variable "postgres_major_version" {
  description = "PostgreSQL major version of the Dagster storage."
  type        = string
  default     = "16"
}

variable "rds_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "rds_allocated_storage" {
  description = "Initial storage, GiB."
  type        = number
  default     = 20
}

variable "rds_max_allocated_storage" {
  description = "Storage autoscaling ceiling, GiB."
  type        = number
  default     = 100
}

variable "rds_multi_az" {
  description = "Multi-AZ standby for the Dagster database."
  type        = bool
  default     = false
}

variable "rds_backup_retention_days" {
  description = "Automated backup retention, days."
  type        = number
  default     = 7

  validation {
    condition     = var.rds_backup_retention_days >= 1 && var.rds_backup_retention_days <= 35
    error_message = "rds_backup_retention_days must be 1-35."
  }
}

variable "log_retention_days" {
  description = "Retention of the task and database log groups, days."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}

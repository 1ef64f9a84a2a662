variable "name" {
  description = "Name prefix, e.g. ons-pipeline-prod."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the tasks and the load balancer."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the tasks and the internal load balancer (two or more zones, modules/alb checks it)."
  type        = list(string)
}

variable "cluster_arn" {
  description = "ECS cluster of the service (the Dagster cluster)."
  type        = string
}

variable "cluster_name" {
  description = "Name of that cluster (Application Auto Scaling resource ID)."
  type        = string
}

variable "kms_key_arn" {
  description = "Environment KMS key (log group, API key and fingerprint key secrets)."
  type        = string
}

variable "image" {
  description = "The project image (the same as Dagster's): it provides the ons-pipeline command."
  type        = string
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64 (must match the image)."
  type        = string
  default     = "X86_64"
}

variable "task_role_arn" {
  description = "Task role of the API tasks (modules/iam, no policy)."
  type        = string
}

variable "execution_role_arn" {
  description = "Execution role of the API tasks (modules/iam grants it pull, its log group and exactly its secrets)."
  type        = string
}

variable "container_environment" {
  description = "Non-secret environment of the API container (ONS_INFLUX_* settings)."
  type        = map(string)

  validation {
    condition = alltrue([
      for k in keys(var.container_environment) :
      !can(regex("(?i)(password|token|secret|key)$", k))
    ])
    error_message = "Secrets go in container_secret_arns (injected from Secrets Manager), not in container_environment."
  }
}

variable "container_secret_arns" {
  description = "Environment variables injected from Secrets Manager (name => secret ARN), besides ONS_API_KEY and ONS_API_FINGERPRINT_KEY, which this module adds."
  type        = map(string)
}

variable "influxdb_security_group_id" {
  description = "Security group of InfluxDB (the tasks' egress target; it admits the tasks' security group)."
  type        = string
}

variable "influxdb_port" {
  description = "InfluxDB port."
  type        = number
}

variable "certificate_arn" {
  description = "ACM certificate of the HTTPS listener."
  type        = string
}

variable "allowed_cidr_blocks" {
  description = "IPv4 ranges allowed to the load balancer on 443: the VPC and, e.g., a VPN range. Never 0.0.0.0/0 (modules/alb rejects it)."
  type        = list(string)
}

variable "load_balancer_subnet_cidr_blocks" {
  description = "IPv4 CIDRs of var.subnet_ids, where the load balancer's nodes take their addresses: the only peers whose X-Forwarded-For uvicorn believes (FORWARDED_ALLOW_IPS). Never \"*\", 0.0.0.0/0 or ::/0."
  type        = list(string)

  validation {
    condition = length(var.load_balancer_subnet_cidr_blocks) > 0 && alltrue([
      for c in var.load_balancer_subnet_cidr_blocks :
      can(cidrhost(c, 0)) && !contains(["0.0.0.0/0", "::/0"], c)
    ])
    error_message = "load_balancer_subnet_cidr_blocks: the load balancer subnets' CIDRs, at least one; never \"*\", 0.0.0.0/0 or ::/0."
  }
}

variable "access_logs_bucket_name" {
  description = "Bucket for the load balancer access logs (prefix alb/)."
  type        = string
}

variable "cpu" {
  description = "Fargate CPU units of each task."
  type        = number
  default     = 1024
}

variable "memory" {
  description = "Fargate memory (MiB) of each task (the embedding model is loaded in memory)."
  type        = number
  default     = 2048
}

variable "min_tasks" {
  description = "Fewest tasks (also the count at creation)."
  type        = number
  default     = 2
}

variable "max_tasks" {
  description = "Most tasks."
  type        = number
  default     = 6

  validation {
    condition     = var.max_tasks >= var.min_tasks && var.min_tasks >= 1
    error_message = "Give 1 <= min_tasks <= max_tasks."
  }
}

variable "requests_per_target" {
  description = "Target of the request policy: requests a minute per task (ALBRequestCountPerTarget)."
  type        = number
  default     = 600
}

variable "cpu_target_percent" {
  description = "Target of the CPU policy: average CPU of the service, percent."
  type        = number
  default     = 60
}

variable "scale_out_cooldown_seconds" {
  description = "Seconds after a scale-out before another one."
  type        = number
  default     = 60
}

variable "scale_in_cooldown_seconds" {
  description = "Seconds after a scale-in before another one."
  type        = number
  default     = 300
}

variable "health_check_grace_period_seconds" {
  description = "Seconds a new task's failed load balancer health checks are ignored (start, InfluxDB connection)."
  type        = number
  default     = 90
}

variable "log_retention_days" {
  description = "Retention of the API log group, days."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}

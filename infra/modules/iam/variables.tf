variable "name" {
  description = "Name prefix, e.g. ons-pipeline-prod."
  type        = string
}

variable "data_bucket_arn" {
  description = "ARN of the pipeline data bucket."
  type        = string
}

variable "prefixes" {
  description = "Prefixes of the data bucket (parquet, unload, raw, deadletter)."
  type = object({
    parquet    = string
    unload     = string
    raw        = string
    deadletter = string
  })
}

variable "kms_key_arn" {
  description = "Environment KMS key (data bucket, token secret, alarm topic)."
  type        = string
}

variable "timestream_databases" {
  description = "Timestream for LiveAnalytics databases the export reads (ONS_TIMESTREAM_DATABASE, ONS_TIMESTREAM_LEGACY_DATABASE)."
  type        = list(string)

  validation {
    condition     = length(var.timestream_databases) > 0 && alltrue([for d in var.timestream_databases : d != "*" && length(trimspace(d)) > 0])
    error_message = "Name the Timestream databases explicitly (no \"*\")."
  }
}

variable "allow_timestream_unload" {
  description = "Grant timestream:Unload and s3:GetBucketAcl (ONS_EXPORT_MODE=unload)."
  type        = bool
  default     = true
}

variable "influxdb_secret_arns" {
  description = "Secrets the Dagster tasks may read (GetSecretValue): the pipeline's InfluxDB token secret. Never the service-created admin secret (auth_secret_arn)."
  type        = list(string)
}

variable "metrics_namespace" {
  description = "The only CloudWatch namespace the tasks may put metrics in."
  type        = string
  default     = "ONS/Pipeline"
}

variable "alarm_topic_arn" {
  description = "SNS topic the pipeline publishes alerts to."
  type        = string
}

variable "ecr_repository_arn" {
  description = "ECR repository of the project image (the execution roles may pull from it); null for a public image."
  type        = string
  default     = null
}

variable "execution_grants" {
  description = "Per execution role (\"execution\", \"api_execution\"): the log groups its tasks write and the secrets their task definitions inject."
  type = map(object({
    log_group_arns = list(string)
    secret_arns    = list(string)
  }))

  validation {
    condition     = alltrue([for role in keys(var.execution_grants) : contains(["execution", "api_execution"], role)])
    error_message = "execution_grants: only the execution roles (execution, api_execution)."
  }
}

variable "api_bedrock" {
  description = "The existing Bedrock knowledge base and foundation model the query API uses (ids; null = not used), and their region (null = this one)."
  type = object({
    knowledge_base_id = optional(string)
    model_id          = optional(string)
    region            = optional(string)
  })
  default = {}
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}

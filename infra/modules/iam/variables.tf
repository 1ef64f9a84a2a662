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
  description = "Secrets the tasks may read: the service-created InfluxDB auth secret and the pipeline token secret."
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

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}

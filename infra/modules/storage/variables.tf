variable "data_bucket_name" {
  description = "Name of the pipeline data bucket (parquet/, unload/, raw/, deadletter/)."
  type        = string
}

variable "influxdb_logs_bucket_name" {
  description = "Name of the bucket Timestream for InfluxDB delivers its engine logs to."
  type        = string
}

variable "access_logs_bucket_name" {
  description = "Name of the bucket receiving S3 server access logs and load balancer logs."
  type        = string
}

variable "prefixes" {
  description = "Key prefixes of the data bucket, as the pipeline uses them (ONS_S3_*_PREFIX)."
  type = object({
    parquet    = string
    unload     = string
    raw        = string
    deadletter = string
  })
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS on the data bucket."
  type        = string
}

variable "unload_expiration_days" {
  description = "Days after which objects under unload/ expire (the export deletes them itself)."
  type        = number
  default     = 7

  validation {
    condition     = var.unload_expiration_days >= 1
    error_message = "unload_expiration_days must be at least 1."
  }
}

variable "deadletter_transition_days" {
  description = "Days after which dead letters move to STANDARD_IA (30 minimum for that class)."
  type        = number
  default     = 30

  validation {
    condition     = var.deadletter_transition_days >= 30
    error_message = "S3 requires at least 30 days before a transition to STANDARD_IA."
  }
}

variable "deadletter_expiration_days" {
  description = "Days after which dead letters expire."
  type        = number
  default     = 180

  validation {
    condition     = var.deadletter_expiration_days > var.deadletter_transition_days
    error_message = "deadletter_expiration_days must be greater than deadletter_transition_days."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced (noncurrent) object version is kept in the data bucket."
  type        = number
  default     = 30
}

variable "log_expiration_days" {
  description = "Days after which engine logs and access logs expire."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}

variable "name" {
  description = "Name prefix, e.g. ons-pipeline-prod."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the alarm topic (its policy lets cloudwatch.amazonaws.com use it)."
  type        = string
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarm topic (each must confirm)."
  type        = list(string)
  default     = []
}

variable "influxdb_instance_name" {
  description = "Name of the Timestream for InfluxDB v2 DB instance (the DbInstanceName dimension); null = no instance alarms (v3 cluster)."
  type        = string
  default     = null
}

variable "influxdb_metrics_namespace" {
  description = "CloudWatch namespace of Timestream for InfluxDB metrics. Confirm with `aws cloudwatch list-metrics --dimensions Name=DbInstanceName,Value=<name>` (see README)."
  type        = string
  default     = "AWS/Timestream-InfluxDB"
}

variable "influxdb_cpu_threshold" {
  description = "CPUUtilization alarm threshold, percent."
  type        = number
  default     = 80
}

variable "influxdb_memory_threshold" {
  description = "MemoryUtilization alarm threshold, percent."
  type        = number
  default     = 85
}

variable "influxdb_disk_threshold" {
  description = "DiskUtilization alarm threshold, percent (AWS suggests about 75-80)."
  type        = number
  default     = 75
}

variable "influxdb_evaluation_periods" {
  description = "Consecutive 5-minute periods above threshold before an instance alarm fires."
  type        = number
  default     = 3
}

variable "pipeline_metrics_namespace" {
  description = "Namespace of the pipeline's own metrics."
  type        = string
  default     = "ONS/Pipeline"
}

variable "pipeline_metric_dimensions" {
  description = "Dimensions the pipeline publishes its metrics with; an alarm matches only that exact set (e.g. { Environment = \"prod\" })."
  type        = map(string)
  default     = {}
}

variable "load_lag_threshold_seconds" {
  description = "LoadLagSeconds above this fires (daily partitions: 36 h by default)."
  type        = number
  default     = 129600
}

variable "load_lag_evaluation_hours" {
  description = "Hours the lag must stay above threshold (or unreported) before the alarm fires."
  type        = number
  default     = 2
}

variable "points_per_second_min" {
  description = "PointsPerSecond below this for 15 min fires (only while runs report it)."
  type        = number
  default     = 1000
}

variable "api_load_balancer_arn_suffix" {
  description = "ARN suffix of the query API's load balancer (dimension LoadBalancer)."
  type        = string
}

variable "api_target_group_arn_suffix" {
  description = "ARN suffix of the query API's target group (dimension TargetGroup)."
  type        = string
}

variable "api_latency_threshold_seconds" {
  description = "Query API p95 response time (TargetResponseTime) above this for 5 minutes fires."
  type        = number
  default     = 3
}

variable "api_5xx_rate_threshold_percent" {
  description = "Share of requests answered 5xx by the API tasks, percent, above which (3 of 5 minutes) the alarm fires."
  type        = number
  default     = 5
}

variable "api_elb_5xx_threshold" {
  description = "5xx a minute answered by the API's load balancer itself, above which (3 of 5 minutes) the alarm fires."
  type        = number
  default     = 10
}

variable "api_metric_endpoints" {
  description = "Data endpoints of the query API alarmed on one by one (key: alarm name part, value: the Endpoint dimension the API publishes, \"<METHOD> <route>\")."
  type        = map(string)
  default = {
    v2-query   = "POST /v2/query"
    v2-context = "POST /v2/context"
    query      = "POST /query"
    v1-query   = "POST /v1/query"
  }
}

variable "api_endpoint_latency_p99_ms" {
  description = "p99 latency of one API endpoint (ApiLatencyMs), milliseconds, above which (3 of 5 minutes) its alarm fires."
  type        = number
  default     = 10000
}

variable "api_endpoint_5xx_percent" {
  description = "Share of one API endpoint's requests answered 5xx, percent, above which (3 of 5 minutes) its alarm fires."
  type        = number
  default     = 5
}

variable "api_endpoint_timeouts_threshold" {
  description = "Requests a minute of one API endpoint that failed on an InfluxDB or Bedrock timeout, above which (3 of 5 minutes) its alarm fires."
  type        = number
  default     = 0
}

variable "api_rejected_keys_threshold" {
  description = "Requests refused for a missing or wrong API key in 5 minutes, over all tasks and endpoints, above which the alarm fires."
  type        = number
  default     = 20
}

variable "api_rate_limited_threshold" {
  description = "Requests answered 429 (rate limit per key) in 5 minutes, over all tasks and endpoints, above which the alarm fires."
  type        = number
  default     = 100
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}

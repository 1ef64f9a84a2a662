variable "name" {
  description = "Name prefix for every resource, e.g. ons-pipeline-prod."
  type        = string
}

variable "cidr_block" {
  description = "IPv4 CIDR of the VPC (a /16 to /20; private subnets take /4 slices of it)."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0))
    error_message = "cidr_block must be an IPv4 CIDR."
  }
}

variable "availability_zones" {
  description = "Zone names (2 or 3), one private and one public subnet each. 2 minimum (Multi-AZ standby), 3 maximum (Timestream for InfluxDB takes 1-3 subnets)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3 && length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones: 2 or 3 distinct zone names."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheaper, dev) instead of one per AZ (prod)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the VPC flow log group, in days."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow log group."
  type        = string
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}

variable "name" {
  description = "Instance or cluster name (3-40 characters, letters/digits/hyphens, starts with a letter); also the endpoint prefix."
  type        = string

  validation {
    condition     = length(var.name) >= 3 && length(var.name) <= 40 && can(regex("^[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$", var.name))
    error_message = "name: 3-40 characters, starts with a letter, no consecutive or trailing hyphens."
  }
}

variable "engine" {
  description = "\"v2\" (InfluxDB 2.x DB instance) or \"v3\" (InfluxDB 3 DB cluster)."
  type        = string
  default     = "v2"

  validation {
    condition     = contains(["v2", "v3"], var.engine)
    error_message = "engine must be \"v2\" or \"v3\"."
  }
}

variable "db_instance_type" {
  description = "Instance class (all nodes for V3)."
  type        = string
  default     = "db.influx.medium"

  validation {
    condition = contains([
      "db.influx.medium", "db.influx.large", "db.influx.xlarge", "db.influx.2xlarge",
      "db.influx.4xlarge", "db.influx.8xlarge", "db.influx.12xlarge", "db.influx.16xlarge",
    ], var.db_instance_type)
    error_message = "db_instance_type must be one of db.influx.{medium,large,xlarge,2xlarge,4xlarge,8xlarge,12xlarge,16xlarge}."
  }
}

variable "db_storage_type" {
  description = "V2 storage tier: InfluxIOIncludedT1 (3,000 IOPS), T2 (12,000), T3 (16,000)."
  type        = string
  default     = "InfluxIOIncludedT1"

  validation {
    condition     = contains(["InfluxIOIncludedT1", "InfluxIOIncludedT2", "InfluxIOIncludedT3"], var.db_storage_type)
    error_message = "db_storage_type must be InfluxIOIncludedT1, InfluxIOIncludedT2 or InfluxIOIncludedT3."
  }
}

variable "allocated_storage" {
  description = "V2 storage in GiB: 20-16384; at least 400 with InfluxIOIncludedT2/T3."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage >= 20 && var.allocated_storage <= 16384
    error_message = "allocated_storage must be between 20 and 16384 GiB."
  }

  validation {
    condition     = var.db_storage_type == "InfluxIOIncludedT1" || var.allocated_storage >= 400
    error_message = "InfluxIOIncludedT2 and InfluxIOIncludedT3 need allocated_storage >= 400."
  }
}

variable "deployment_type" {
  description = "V2: SINGLE_AZ or WITH_MULTIAZ_STANDBY (needs two subnets in different AZs)."
  type        = string
  default     = "SINGLE_AZ"

  validation {
    condition     = contains(["SINGLE_AZ", "WITH_MULTIAZ_STANDBY"], var.deployment_type)
    error_message = "deployment_type must be SINGLE_AZ or WITH_MULTIAZ_STANDBY."
  }
}

variable "db_parameter_group_identifier" {
  description = "V2: ID of a DB parameter group made with `aws timestream-influxdb create-db-parameter-group` (the provider has no resource for it). null = service defaults. Removing it later replaces the instance."
  type        = string
  default     = null

  validation {
    condition     = var.db_parameter_group_identifier == null || can(regex("^[a-zA-Z0-9]{3,64}$", var.db_parameter_group_identifier))
    error_message = "db_parameter_group_identifier: 3-64 letters or digits."
  }
}

variable "v3_parameter_group_identifier" {
  description = "V3: parameter group that selects the InfluxDB 3 edition, e.g. InfluxDBV3Core or InfluxDBV3Enterprise, or a custom one."
  type        = string
  default     = "InfluxDBV3Core"

  validation {
    condition     = can(regex("^[a-zA-Z0-9]{3,64}$", var.v3_parameter_group_identifier))
    error_message = "v3_parameter_group_identifier: 3-64 letters or digits."
  }
}

variable "port" {
  description = "Port InfluxDB listens on; null = 8086 (v2) / 8181 (v3)."
  type        = number
  default     = null

  validation {
    # A conditional, not `||`: Terraform before 1.12 evaluates both sides of `||`, and
    # contains() and the comparisons fail on null.
    condition = var.port == null ? true : (
      var.port >= 1024 && var.port <= 65535 &&
      !contains([2375, 2376, 8090, 51678, 51679, 51680], var.port) &&
      !(var.port >= 7788 && var.port <= 7799)
    )
    error_message = "port must be 1024-65535 and not 2375-2376, 7788-7799, 8090 or 51678-51680."
  }
}

variable "network_type" {
  description = "IPV4 or DUAL."
  type        = string
  default     = "IPV4"

  validation {
    condition     = contains(["IPV4", "DUAL"], var.network_type)
    error_message = "network_type must be IPV4 or DUAL."
  }
}

variable "organization" {
  description = "V2: initial organization."
  type        = string
  default     = "ons"
}

variable "initial_bucket" {
  description = "V2: initial bucket (the pipeline's ONS_INFLUX_DATABASE)."
  type        = string
  default     = "ons"
}

variable "admin_username" {
  description = "V2: initial admin user (not a secret; its generated password is)."
  type        = string
  default     = "ons-admin"

  validation {
    condition     = can(regex("^[a-zA-Z]([a-zA-Z0-9]*(-[a-zA-Z0-9]+)*)?$", var.admin_username))
    error_message = "admin_username must start with a letter and contain no consecutive or trailing hyphens."
  }
}

variable "vpc_id" {
  description = "VPC of the instance's security group."
  type        = string
}

variable "subnet_ids" {
  description = "1-3 private subnets (two in different AZs for a Multi-AZ standby)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && length(var.subnet_ids) <= 3
    error_message = "Timestream for InfluxDB takes 1 to 3 subnets."
  }
}

variable "allowed_security_groups" {
  description = "Security groups allowed on the InfluxDB port, by a static label (e.g. { pipeline_tasks = sg-..., api_tasks = sg-... })."
  type        = map(string)
}

variable "log_bucket_name" {
  description = "S3 bucket for engine logs (its policy must let timestream-influxdb.amazonaws.com put objects)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the token secrets."
  type        = string
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}

variable "name" {
  description = "Load balancer name (32 characters at most)."
  type        = string
}

variable "target_group_name" {
  description = "Target group name (32 characters at most)."
  type        = string
}

variable "security_group_name" {
  description = "Name of the load balancer's security group."
  type        = string
}

variable "purpose" {
  description = "What the load balancer serves, for descriptions (e.g. \"Dagster UI\", \"query API\")."
  type        = string
}

variable "target_description" {
  description = "What the targets are, for the egress rule's description (e.g. \"the Dagster webserver\")."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the load balancer and its targets."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the load balancer, in two or more zones."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "An Application Load Balancer needs subnets in at least two zones."
  }
}

variable "certificate_arn" {
  description = "ACM certificate of the HTTPS listener."
  type        = string
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener: TLS 1.2 or later only."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = can(regex("^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)-", var.ssl_policy))
    error_message = "ssl_policy must allow TLS 1.2 or later only (ELBSecurityPolicy-TLS13-1-2-*, -TLS13-1-3-*, -TLS-1-2-*, -FS-1-2-*)."
  }
}

variable "allowed_cidr_blocks" {
  description = "IPv4 ranges allowed on 443 (the VPC, a VPN or office range). Never 0.0.0.0/0."
  type        = list(string)

  validation {
    condition     = alltrue([for c in var.allowed_cidr_blocks : !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "An internal load balancer is never open to the internet: remove 0.0.0.0/0 and ::/0."
  }
}

variable "target_security_group_id" {
  description = "Security group of the targets (the tasks): it admits the target port from this load balancer only."
  type        = string
}

variable "target_port" {
  description = "Port the tasks listen on (HTTP)."
  type        = number
}

variable "health_check" {
  description = "Target group health check: path, matcher and timings (seconds; timeout null = the AWS default)."
  type = object({
    path                = string
    matcher             = optional(string, "200")
    interval            = optional(number, 30)
    timeout             = optional(number)
    healthy_threshold   = optional(number, 2)
    unhealthy_threshold = optional(number, 3)
  })
}

variable "deregistration_delay_seconds" {
  description = "How long a draining target keeps its in-flight requests."
  type        = number
  default     = 300
}

variable "access_logs_bucket_name" {
  description = "Bucket of the access logs (prefix alb/, allowed by its bucket policy)."
  type        = string
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}

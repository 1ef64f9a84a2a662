terraform {
  # 1.9+: cross-variable validation (modules/influxdb allocated_storage vs db_storage_type).
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # Partial configuration, one file per environment:
  # `terraform init -backend-config=envs/<env>.tfbackend` (see README).
  backend "s3" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "ons-pipeline"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}

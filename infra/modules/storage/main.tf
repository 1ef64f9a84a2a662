# S3 for the pipeline:
#   data bucket           parquet/ unload/ raw/ deadletter/  (SSE-KMS, versioned, lifecycle)
#   influxdb-logs bucket  Timestream for InfluxDB engine logs (written by the service)
#   access-logs bucket    S3 server access logs of the two above, and the UI load balancer logs
# Every bucket: public access blocked, ACLs disabled (BucketOwnerEnforced), versioned, encrypted,
# TLS only. Those settings are one resource each, for_each over local.buckets; the buckets
# themselves, their lifecycles and their delivery policies stay apart, because they differ.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_elb_service_account" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  prefixes   = { for k, v in var.prefixes : k => trim(v, "/") }

  # What differs between the buckets in the settings they share. SSE-S3 on the two log buckets:
  # S3 server access logging, ELB access logs and the InfluxDB log delivery require it.
  buckets = {
    data = {
      id                 = aws_s3_bucket.data.id
      arn                = aws_s3_bucket.data.arn
      sse_algorithm      = "aws:kms"
      kms_key_arn        = var.kms_key_arn
      bucket_key_enabled = true
    }
    influxdb_logs = {
      id                 = aws_s3_bucket.influxdb_logs.id
      arn                = aws_s3_bucket.influxdb_logs.arn
      sse_algorithm      = "AES256"
      kms_key_arn        = null
      bucket_key_enabled = null
    }
    access_logs = {
      id                 = aws_s3_bucket.access_logs.id
      arn                = aws_s3_bucket.access_logs.arn
      sse_algorithm      = "AES256"
      kms_key_arn        = null
      bucket_key_enabled = null
    }
  }
  # What each bucket policy allows besides TLS-only access (the log delivery services).
  delivery_policies = {
    data          = []
    influxdb_logs = [data.aws_iam_policy_document.influxdb_logs_delivery.json]
    access_logs   = [data.aws_iam_policy_document.access_logs_delivery.json]
  }
  # Server access logs of every bucket but the access-log bucket itself go to the latter.
  logged_buckets = {
    data          = { id = aws_s3_bucket.data.id, name = var.data_bucket_name }
    influxdb_logs = { id = aws_s3_bucket.influxdb_logs.id, name = var.influxdb_logs_bucket_name }
  }
  # Engine and access logs expire alike.
  log_buckets = {
    influxdb_logs = { id = aws_s3_bucket.influxdb_logs.id, rule = "expire-engine-logs" }
    access_logs   = { id = aws_s3_bucket.access_logs.id, rule = "expire-access-logs" }
  }
}

# Data bucket ------------------------------------------------------------------------------------

resource "aws_s3_bucket" "data" {
  #checkov:skip=CKV_AWS_144:Single-region pipeline; the bucket is rebuilt from Timestream and the ONS open data, not replicated.
  #checkov:skip=CKV2_AWS_62:The Dagster S3 sensor polls raw/ (ListObjectsV2); no event notification is consumed.
  bucket        = var.data_bucket_name
  force_destroy = false
  tags          = merge(var.tags, { Name = var.data_bucket_name, Purpose = "pipeline-data" })
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  # UNLOAD output is read once and deleted by the export; whatever a failed UNLOAD leaves behind
  # (partial files) expires here.
  rule {
    id     = "unload-expire"
    status = "Enabled"
    filter {
      prefix = "${local.prefixes.unload}/"
    }
    expiration {
      days = var.unload_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # Dead letters are kept long enough to be inspected and replayed, then age out.
  rule {
    id     = "deadletter-expire"
    status = "Enabled"
    filter {
      prefix = "${local.prefixes.deadletter}/"
    }
    transition {
      days          = var.deadletter_transition_days
      storage_class = "STANDARD_IA"
    }
    expiration {
      days = var.deadletter_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Parquet partitions and raw ONS files: current versions stay, replaced versions age out.
  rule {
    id     = "noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}
# Timestream for InfluxDB engine logs -----------------------------------------------------------

resource "aws_s3_bucket" "influxdb_logs" {
  #checkov:skip=CKV_AWS_144:Engine logs are operational data; cross-region replication is not worth it.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events for engine log objects.
  #checkov:skip=CKV_AWS_145:Written by the timestream-influxdb.amazonaws.com service principal; AWS documents this delivery with SSE-S3 only (encrypted, AES256).
  bucket        = var.influxdb_logs_bucket_name
  force_destroy = false
  tags          = merge(var.tags, { Name = var.influxdb_logs_bucket_name, Purpose = "influxdb-engine-logs" })
}

# From the provider documentation of log_delivery_configuration: the service principal puts objects.
data "aws_iam_policy_document" "influxdb_logs_delivery" {
  statement {
    sid       = "TimestreamForInfluxDBDeliversEngineLogs"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.influxdb_logs.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["timestream-influxdb.amazonaws.com"]
    }
  }
}

# Access logs ------------------------------------------------------------------------------------

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log target; logging it into itself would loop.
  #checkov:skip=CKV_AWS_144:Access logs are kept in-region.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events for access-log objects.
  #checkov:skip=CKV_AWS_145:S3 server access logging and ELB access logs require SSE-S3 on the target bucket (encrypted, AES256).
  bucket        = var.access_logs_bucket_name
  force_destroy = false
  tags          = merge(var.tags, { Name = var.access_logs_bucket_name, Purpose = "access-logs" })
}

data "aws_iam_policy_document" "access_logs_delivery" {
  # S3 server access logging (the bucket owner enforces ownership, so delivery is by policy).
  statement {
    sid       = "S3ServerAccessLogDelivery"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/s3/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # Application Load Balancer access logs (the regional Elastic Load Balancing account).
  statement {
    sid       = "LoadBalancerAccessLogDelivery"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/alb/AWSLogs/${local.account_id}/*"]

    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current.arn]
    }
  }
}

# Every bucket -----------------------------------------------------------------------------------

resource "aws_s3_bucket_public_access_block" "this" {
  for_each                = local.buckets
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets
  bucket   = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets
  bucket   = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets
  bucket   = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = each.value.sse_algorithm
      kms_master_key_id = each.value.kms_key_arn
    }
    bucket_key_enabled = each.value.bucket_key_enabled
  }
}

resource "aws_s3_bucket_logging" "this" {
  for_each      = local.logged_buckets
  bucket        = each.value.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "s3/${each.value.name}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  for_each = local.log_buckets
  bucket   = each.value.id
  rule {
    id     = each.value.rule
    status = "Enabled"
    filter {}
    expiration {
      days = var.log_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# The bucket's delivery statements (log buckets), then TLS-only access for everyone.
data "aws_iam_policy_document" "bucket" {
  for_each                = local.buckets
  source_policy_documents = local.delivery_policies[each.key]

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      each.value.arn,
      "${each.value.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each   = local.buckets
  bucket     = each.value.id
  policy     = data.aws_iam_policy_document.bucket[each.key].json
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# The settings every bucket shares became one for_each resource each (keyed by bucket); these
# blocks carry the existing objects to their new addresses instead of replacing them.

moved {
  from = aws_s3_bucket_public_access_block.data
  to   = aws_s3_bucket_public_access_block.this["data"]
}

moved {
  from = aws_s3_bucket_public_access_block.influxdb_logs
  to   = aws_s3_bucket_public_access_block.this["influxdb_logs"]
}

moved {
  from = aws_s3_bucket_public_access_block.access_logs
  to   = aws_s3_bucket_public_access_block.this["access_logs"]
}

moved {
  from = aws_s3_bucket_ownership_controls.data
  to   = aws_s3_bucket_ownership_controls.this["data"]
}

moved {
  from = aws_s3_bucket_ownership_controls.influxdb_logs
  to   = aws_s3_bucket_ownership_controls.this["influxdb_logs"]
}

moved {
  from = aws_s3_bucket_ownership_controls.access_logs
  to   = aws_s3_bucket_ownership_controls.this["access_logs"]
}

moved {
  from = aws_s3_bucket_versioning.data
  to   = aws_s3_bucket_versioning.this["data"]
}

moved {
  from = aws_s3_bucket_versioning.influxdb_logs
  to   = aws_s3_bucket_versioning.this["influxdb_logs"]
}

moved {
  from = aws_s3_bucket_versioning.access_logs
  to   = aws_s3_bucket_versioning.this["access_logs"]
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.data
  to   = aws_s3_bucket_server_side_encryption_configuration.this["data"]
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.influxdb_logs
  to   = aws_s3_bucket_server_side_encryption_configuration.this["influxdb_logs"]
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.access_logs
  to   = aws_s3_bucket_server_side_encryption_configuration.this["access_logs"]
}

moved {
  from = aws_s3_bucket_logging.data
  to   = aws_s3_bucket_logging.this["data"]
}

moved {
  from = aws_s3_bucket_logging.influxdb_logs
  to   = aws_s3_bucket_logging.this["influxdb_logs"]
}

moved {
  from = aws_s3_bucket_policy.data
  to   = aws_s3_bucket_policy.this["data"]
}

moved {
  from = aws_s3_bucket_policy.influxdb_logs
  to   = aws_s3_bucket_policy.this["influxdb_logs"]
}

moved {
  from = aws_s3_bucket_policy.access_logs
  to   = aws_s3_bucket_policy.this["access_logs"]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.influxdb_logs
  to   = aws_s3_bucket_lifecycle_configuration.logs["influxdb_logs"]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.access_logs
  to   = aws_s3_bucket_lifecycle_configuration.logs["access_logs"]
}

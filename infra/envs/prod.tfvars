# Production: InfluxDB 2.x with a Multi-AZ standby on the 12,000-IOPS tier, three AZs, one NAT
# gateway per AZ, Multi-AZ PostgreSQL. No secret here (tests enforce it).
region      = "us-east-1"
environment = "prod"

vpc_cidr_block     = "10.41.0.0/16"
availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
single_nat_gateway = false

influxdb_engine            = "v2"
influxdb_instance_type     = "db.influx.2xlarge"
influxdb_storage_type      = "InfluxIOIncludedT2"
influxdb_allocated_storage = 400
influxdb_deployment_type   = "WITH_MULTIAZ_STANDBY"

alarm_emails = ["ons-pipeline-oncall@example.com"]

influxdb_cpu_alarm_threshold  = 80
influxdb_disk_alarm_threshold = 75

dagster_image      = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ons-pipeline:prod"
ecr_repository_arn = "arn:aws:ecr:us-east-1:123456789012:repository/ons-pipeline"

webserver_cpu    = 1024
webserver_memory = 4096
run_cpu          = 4096
run_memory       = 16384

ui_certificate_arn     = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
ui_allowed_cidr_blocks = ["10.100.0.0/16"]

rds_instance_class        = "db.m7g.large"
rds_multi_az              = true
rds_backup_retention_days = 14

# Query API: one task per AZ at least, up to twelve; from the VPC and the VPN range.
api_certificate_arn     = "arn:aws:acm:us-east-1:123456789012:certificate/22222222-2222-2222-2222-222222222222"
api_allowed_cidr_blocks = ["10.100.0.0/16"]
api_min_tasks           = 3
api_max_tasks           = 12

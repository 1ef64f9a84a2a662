# Development: smallest InfluxDB 2.x instance, single AZ, one NAT gateway.
# No secret here (tests fail on any password/token/secret value in a .tfvars file).
region      = "us-east-1"
environment = "dev"

vpc_cidr_block     = "10.40.0.0/16"
availability_zones = ["us-east-1a", "us-east-1b"]
single_nat_gateway = true

influxdb_engine            = "v2"
influxdb_instance_type     = "db.influx.medium"
influxdb_storage_type      = "InfluxIOIncludedT1"
influxdb_allocated_storage = 50
influxdb_deployment_type   = "SINGLE_AZ"

influxdb_cpu_alarm_threshold  = 90
influxdb_disk_alarm_threshold = 80

dagster_image      = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ons-pipeline:dev"
ecr_repository_arn = "arn:aws:ecr:us-east-1:123456789012:repository/ons-pipeline"

run_cpu    = 1024
run_memory = 4096

rds_instance_class        = "db.t4g.medium"
rds_multi_az              = false
rds_backup_retention_days = 7

# Query API: one task, up to two; reachable from inside the VPC only.
api_certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-1111-1111-1111-111111111111"
api_min_tasks       = 1
api_max_tasks       = 2

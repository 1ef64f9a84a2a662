# Least-privilege IAM for the Dagster tasks (webserver, daemon and the runs EcsRunLauncher starts).
#
# `pipeline` policy: what the pipeline code does, and nothing else:
#   S3      parquet/ read-write-delete, unload/ read-write-delete (UNLOAD output), raw/ read-only,
#           deadletter/ read-write-delete, listing limited to those prefixes
#   KMS     the environment key, only through S3, Secrets Manager and SNS
#   Timestream (LiveAnalytics) Select/ListMeasures (+ Unload) on the source tables;
#           DescribeEndpoints on "*" (endpoint discovery has no resource-level permission)
#   Secrets GetSecretValue on the pipeline's InfluxDB token secret (var.influxdb_secret_arns);
#           never the InfluxDB admin secret, which no task needs
#   CloudWatch PutMetricData on "*" (no resource-level permission) limited to the ONS/Pipeline
#           namespace by condition
#   SNS     Publish to the alarm topic
#
# Roles, all trusting only ECS tasks of this account and region: `run` (the runs) gets the
# pipeline policy; `control` (webserver + daemon) gets the pipeline policy too (sensors and
# schedules run in the daemon) and, from the dagster module, the EcsRunLauncher permissions;
# `api` (the query API's tasks) gets its own small policy: PutMetricData in the metrics namespace
# (its request metrics) and, only when var.api_bedrock names them, Retrieve/GetKnowledgeBase on
# that knowledge base and InvokeModel (Converse) on that foundation model. It reads InfluxDB with
# the token ECS injects.
# The two execution roles (the ECS agent), `execution` for the Dagster tasks and `api_execution`
# for the query API, get only what their tasks need: pull the image, write their log groups and
# read exactly the secrets their task definitions inject (var.execution_grants).

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region
  partition  = data.aws_partition.current.partition
  bucket_arn = var.data_bucket_arn
  p          = { for k, v in var.prefixes : k => trim(v, "/") }

  timestream_table_arns = [
    for db in var.timestream_databases :
    "arn:${local.partition}:timestream:${local.region}:${local.account_id}:database/${db}/table/*"
  ]
  timestream_actions = concat(
    ["timestream:Select", "timestream:ListMeasures"],
    var.allow_timestream_unload ? ["timestream:Unload"] : [],
  )

  # name: the role's name after "<var.name>-" (the Dagster roles keep the names they were created with).
  task_roles = {
    run           = { name = "dagster-run", description = "Task role of the Dagster runs launched by EcsRunLauncher", pipeline = true }
    control       = { name = "dagster-control", description = "Task role of the Dagster webserver and daemon", pipeline = true }
    execution     = { name = "dagster-execution", description = "ECS task execution role of the Dagster tasks", pipeline = false }
    api           = { name = "api-task", description = "Task role of the query API tasks", pipeline = false }
    api_execution = { name = "api-execution", description = "ECS task execution role of the query API tasks", pipeline = false }
  }
  pipeline_roles = toset([for key, role in local.task_roles : key if role.pipeline])
  bedrock_region = coalesce(var.api_bedrock.region, local.region)
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

data "aws_iam_policy_document" "pipeline" {
  statement {
    sid       = "ListOnlyThePipelinePrefixes"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = flatten([
        for k in ["parquet", "unload", "raw", "deadletter"] : [local.p[k], "${local.p[k]}/*"]
      ])
    }
  }

  statement {
    sid = "ParquetPartitionsReadWriteReplace"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
    ]
    resources = ["${local.bucket_arn}/${local.p.parquet}/*"]
  }

  # Timestream writes UNLOAD results with the caller's credentials (GetBucketAcl, PutObject,
  # AbortMultipartUpload, per the UNLOAD prerequisites); the export reads and deletes them.
  statement {
    sid = "UnloadOutputWriteReadDelete"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
    ]
    resources = ["${local.bucket_arn}/${local.p.unload}/*"]
  }

  statement {
    sid       = "RawOnsFilesReadOnly"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${local.p.raw}/*"]
  }

  statement {
    sid = "DeadLettersReadWriteDelete"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
    ]
    resources = ["${local.bucket_arn}/${local.p.deadletter}/*"]
  }

  dynamic "statement" {
    for_each = var.allow_timestream_unload ? [1] : []
    content {
      sid       = "UnloadChecksTheBucketAcl"
      actions   = ["s3:GetBucketAcl"]
      resources = [local.bucket_arn]
    }
  }

  statement {
    sid = "EnvironmentKeyThroughS3SecretsManagerAndSns"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [
        "s3.${local.region}.amazonaws.com",
        "secretsmanager.${local.region}.amazonaws.com",
        "sns.${local.region}.amazonaws.com",
      ]
    }
  }

  statement {
    sid       = "TimestreamReadAndUnloadSourceTables"
    actions   = local.timestream_actions
    resources = local.timestream_table_arns
  }

  statement {
    sid       = "TimestreamEndpointDiscoveryHasNoResourceLevelPermission"
    actions   = ["timestream:DescribeEndpoints"]
    resources = ["*"]
  }

  statement {
    sid       = "ReadThePipelineInfluxDBToken"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = var.influxdb_secret_arns
  }

  statement {
    sid       = "PutMetricDataOnlyInThePipelineNamespace"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metrics_namespace]
    }
  }

  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = [var.alarm_topic_arn]
  }
}

resource "aws_iam_policy" "pipeline" {
  name        = "${var.name}-pipeline"
  description = "ons-pipeline tasks: their S3 prefixes, Timestream read/UNLOAD, InfluxDB token secret, ONS/Pipeline metrics, alert topic"
  policy      = data.aws_iam_policy_document.pipeline.json
  tags        = var.tags
}

resource "aws_iam_role" "task" {
  for_each           = local.task_roles
  name               = "${var.name}-${each.value.name}"
  description        = each.value.description
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

# The query API's task role -------------------------------------------------------------------------

data "aws_iam_policy_document" "api" {
  statement {
    sid       = "PutApiMetricsOnlyInThePipelineNamespace"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metrics_namespace]
    }
  }

  dynamic "statement" {
    for_each = var.api_bedrock.knowledge_base_id == null ? [] : [var.api_bedrock.knowledge_base_id]
    content {
      sid       = "RetrieveFromTheBedrockKnowledgeBase"
      actions   = ["bedrock:Retrieve", "bedrock:GetKnowledgeBase"]
      resources = ["arn:${local.partition}:bedrock:${local.bedrock_region}:${local.account_id}:knowledge-base/${statement.value}"]
    }
  }

  dynamic "statement" {
    for_each = var.api_bedrock.model_id == null ? [] : [var.api_bedrock.model_id]
    content {
      sid       = "AnswerWithTheBedrockModel"
      actions   = ["bedrock:InvokeModel"]
      resources = ["arn:${local.partition}:bedrock:${local.bedrock_region}::foundation-model/${statement.value}"]
    }
  }
}

resource "aws_iam_role_policy" "api" {
  name   = "api-metrics-bedrock"
  role   = aws_iam_role.task["api"].name
  policy = data.aws_iam_policy_document.api.json
}

resource "aws_iam_role_policy_attachment" "pipeline" {
  for_each   = local.pipeline_roles
  role       = aws_iam_role.task[each.key].name
  policy_arn = aws_iam_policy.pipeline.arn
}

# Execution roles: what the ECS agent does for the tasks, nothing of what the application does.
data "aws_iam_policy_document" "execution" {
  for_each = var.execution_grants

  dynamic "statement" {
    for_each = var.ecr_repository_arn == null ? [] : [1]
    content {
      sid       = "EcrAuthorizationTokenHasNoResourceLevelPermission"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = var.ecr_repository_arn == null ? [] : [1]
    content {
      sid = "PullTheProjectImage"
      actions = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
      ]
      resources = [var.ecr_repository_arn]
    }
  }

  statement {
    sid       = "WriteTheTaskLogGroups"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for arn in each.value.log_group_arns : "${arn}:*"]
  }

  statement {
    sid       = "InjectContainerSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = each.value.secret_arns
  }

  statement {
    sid       = "DecryptSecretsThroughSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  for_each = var.execution_grants
  name     = "pull-log-inject-secrets"
  role     = aws_iam_role.task[each.key].name
  policy   = data.aws_iam_policy_document.execution[each.key].json
}

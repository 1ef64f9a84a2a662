# Permissions of the task execution role (ECS agent: pull the image, write logs, inject secrets)
# and the EcsRunLauncher permissions of the webserver/daemon task role. The roles themselves, and
# their trust policy, are in modules/iam.

data "aws_iam_policy_document" "execution" {
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
      sid = "PullTheDagsterImage"
      actions = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
      ]
      resources = [var.ecr_repository_arn]
    }
  }

  statement {
    sid       = "WriteTheDagsterLogGroups"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for lg in aws_cloudwatch_log_group.this : "${lg.arn}:*"]
  }

  statement {
    sid       = "InjectContainerSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat([aws_db_instance.this.master_user_secret[0].secret_arn], values(var.container_secret_arns))
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
  name   = "pull-log-inject-secrets"
  role   = var.execution_role_name
  policy = data.aws_iam_policy_document.execution.json
}

# EcsRunLauncher (dagster-aws): RunTask with the run task definition, DescribeTasks/StopTask in
# this cluster, tag the tasks it starts, read the current task's definition and network
# interfaces (to copy subnets and security groups), pass the two run roles, read run logs.
data "aws_iam_policy_document" "run_launcher" {
  statement {
    sid     = "RunTheRunTaskDefinitionInThisCluster"
    actions = ["ecs:RunTask"]
    resources = [
      "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${aws_ecs_task_definition.run.family}",
      "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${aws_ecs_task_definition.run.family}:*",
    ]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.this.arn]
    }
  }

  statement {
    sid       = "WatchAndStopTasksOfThisCluster"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.this.name}/*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.this.arn]
    }
  }

  statement {
    sid       = "TagTheTasksItStarts"
    actions   = ["ecs:TagResource"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.this.name}/*"]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }

  statement {
    sid       = "DescribeTaskDefinitionHasNoResourceLevelPermission"
    actions   = ["ecs:DescribeTaskDefinition"]
    resources = ["*"]
  }

  statement {
    sid       = "DescribeNetworkInterfacesHasNoResourceLevelPermission"
    actions   = ["ec2:DescribeNetworkInterfaces"]
    resources = ["*"]
  }

  statement {
    sid       = "PassOnlyTheRunRolesToEcsTasks"
    actions   = ["iam:PassRole"]
    resources = [var.run_task_role_arn, var.execution_role_arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "ReadRunLogsOnFailure"
    actions   = ["logs:GetLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this["run"].arn}:*"]
  }
}

resource "aws_iam_role_policy" "run_launcher" {
  name   = "ecs-run-launcher"
  role   = var.control_task_role_name
  policy = data.aws_iam_policy_document.run_launcher.json
}

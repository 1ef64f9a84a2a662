# The EcsRunLauncher permissions of the webserver/daemon task role. The roles themselves, their
# trust policy and the execution role's permissions (pull, logs, secrets: var.execution_grants
# there, fed by this module's outputs log_group_arns and injected_secret_arns) are in modules/iam.

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

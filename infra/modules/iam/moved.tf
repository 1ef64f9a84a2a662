# The task roles became one for_each resource (local.task_roles); these blocks carry the existing
# roles and attachments to their new addresses instead of replacing them. The execution role
# came from modules/dagster: its move is in the root module's moved.tf.

moved {
  from = aws_iam_role.run
  to   = aws_iam_role.task["run"]
}

moved {
  from = aws_iam_role.control
  to   = aws_iam_role.task["control"]
}

moved {
  from = aws_iam_role_policy_attachment.run_pipeline
  to   = aws_iam_role_policy_attachment.pipeline["run"]
}

moved {
  from = aws_iam_role_policy_attachment.control_pipeline
  to   = aws_iam_role_policy_attachment.pipeline["control"]
}

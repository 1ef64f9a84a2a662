# State moves of the reshaping that replaced envs/dev/ and envs/prod/ (two copies of a root that
# called modules/stack) with this one root module. Each environment's state keeps its objects:
# terraform plan shows them as moved, not destroyed and created again. Keep these blocks until
# every environment has applied once with this layout; removing them later is harmless then.

moved {
  from = module.stack.module.kms
  to   = module.kms
}

moved {
  from = module.stack.module.network
  to   = module.network
}

moved {
  from = module.stack.module.storage
  to   = module.storage
}

moved {
  from = module.stack.module.influxdb
  to   = module.influxdb
}

moved {
  from = module.stack.module.monitoring
  to   = module.monitoring
}

moved {
  from = module.stack.module.iam
  to   = module.iam
}

moved {
  from = module.stack.module.dagster
  to   = module.dagster
}

# The execution role moved from modules/dagster to modules/iam, beside the other task roles.
moved {
  from = module.dagster.aws_iam_role.execution
  to   = module.iam.aws_iam_role.task["execution"]
}

# The execution role's policy moved from modules/dagster to modules/iam, one for_each instance per
# execution role (the Dagster tasks' and the query API's). Its statement IDs became generic
# (PullTheProjectImage, WriteTheTaskLogGroups): an in-place update of the policy, not a new one.
moved {
  from = module.dagster.aws_iam_role_policy.execution
  to   = module.iam.aws_iam_role_policy.execution["execution"]
}

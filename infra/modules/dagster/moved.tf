# The UI load balancer's blocks moved to the shared module modules/alb (module.ui_alb), which the
# query API uses too; these blocks carry the existing objects to their new addresses instead of
# replacing them (same names, descriptions and settings, so the plan shows only the moves).

moved {
  from = aws_security_group.alb[0]
  to   = module.ui_alb[0].aws_security_group.this
}

moved {
  from = aws_vpc_security_group_ingress_rule.alb_https
  to   = module.ui_alb[0].aws_vpc_security_group_ingress_rule.https
}

moved {
  from = aws_vpc_security_group_egress_rule.alb_to_webserver[0]
  to   = module.ui_alb[0].aws_vpc_security_group_egress_rule.to_targets
}

moved {
  from = aws_vpc_security_group_ingress_rule.webserver_from_alb[0]
  to   = module.ui_alb[0].aws_vpc_security_group_ingress_rule.targets_from_alb
}

moved {
  from = aws_lb.ui[0]
  to   = module.ui_alb[0].aws_lb.this
}

moved {
  from = aws_lb_target_group.webserver[0]
  to   = module.ui_alb[0].aws_lb_target_group.this
}

moved {
  from = aws_lb_listener.https[0]
  to   = module.ui_alb[0].aws_lb_listener.https
}

# The tasks' three egress rules became one for_each resource, as in modules/api.

moved {
  from = aws_vpc_security_group_egress_rule.tasks_influxdb
  to   = aws_vpc_security_group_egress_rule.tasks["influxdb"]
}

moved {
  from = aws_vpc_security_group_egress_rule.tasks_postgres
  to   = aws_vpc_security_group_egress_rule.tasks["postgres"]
}

moved {
  from = aws_vpc_security_group_egress_rule.tasks_https
  to   = aws_vpc_security_group_egress_rule.tasks["https"]
}

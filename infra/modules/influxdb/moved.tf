# The pipeline token's secret became one instance of the for_each over local.token_secrets (the
# query API's read-only token is the other); these blocks carry the existing secret and its
# version to their new addresses instead of replacing them (same name, description and key).

moved {
  from = aws_secretsmanager_secret.pipeline_token
  to   = aws_secretsmanager_secret.token["pipeline"]
}

moved {
  from = aws_secretsmanager_secret_version.pipeline_token_placeholder
  to   = aws_secretsmanager_secret_version.token_placeholder["pipeline"]
}

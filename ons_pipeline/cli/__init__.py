"""The `ons-pipeline` command line."""

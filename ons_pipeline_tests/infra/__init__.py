"""Offline checks of the Terraform under ``infra/`` (fmt, HCL structure and security, checkov)."""

"""Dagster definitions, one folder per domain; thin wrappers over ``ons_pipeline.lib``."""

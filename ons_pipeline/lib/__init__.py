"""Pure, typed logic of ons-pipeline. Nothing in this package imports Dagster."""

"""ons-pipeline: migrate ONS time series from Amazon Timestream to Timestream for InfluxDB."""

__version__ = "0.1.0"

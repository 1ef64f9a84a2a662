"""Continuous loading: raw ONS files normalised, quarantined and merged into partitions."""

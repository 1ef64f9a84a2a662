"""Local stand-ins and demo tooling: loopback servers (InfluxDB, moto, PostgreSQL), the ONS data
generator and the Timestream staging used by tests, benchmarks and `make demo`. Production code
(`ons_pipeline.lib`, `ons_pipeline.defs`) never imports this package."""

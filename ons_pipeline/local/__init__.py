"""Local stand-ins and demo tooling: loopback servers (InfluxDB, moto, PostgreSQL), the ONS data
generator, the Timestream staging and the fault injectors used by tests, benchmarks and `make
demo`. Production code (`ons_pipeline.lib`, `ons_pipeline.defs`) never imports this package."""

"""``ons-pipeline``: the command line of the project (every command has ``--help``)."""

from __future__ import annotations

import click

from ons_pipeline.cli import demo, discover, ingest, integrity, migrate, query, servers


@click.group()
@click.version_option(package_name="ons-pipeline")
def main() -> None:
    """Migrate ONS time series from Amazon Timestream to Timestream for InfluxDB, and serve them."""


main.add_command(servers.servers)
for command in (demo.generate, demo.stage, demo.demo):
    main.add_command(command)
for command in (migrate.migrate, migrate.dlq, migrate.rollback):
    main.add_command(command)
for module in (integrity, ingest, query, discover):
    module.register(main)

if __name__ == "__main__":
    main()

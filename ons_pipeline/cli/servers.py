"""``ons-pipeline servers start|stop|status``: the local servers on loopback."""

from __future__ import annotations

from dataclasses import asdict

import click

from ons_pipeline.cli.common import emit
from ons_pipeline.local.servers import ServerError, default_state_dir, local_servers


@click.group()
def servers() -> None:
    """The local InfluxDB and AWS endpoint (moto) on loopback, state in $ONS_STATE_DIR."""


@servers.command("start")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def servers_start(as_json: bool) -> None:
    """Start (or reuse) the local servers."""
    infos = []
    for server in local_servers():
        try:
            infos.append(server.start())
        except ServerError as exc:
            raise click.ClickException(str(exc)) from exc
    emit(
        [asdict(i) for i in infos],
        as_json,
        "\n".join(f"{i.name:9} running  pid {i.pid:<7} {i.url}" for i in infos),
    )


@servers.command("stop")
def servers_stop() -> None:
    """Stop the local servers by their PIDs."""
    for server in local_servers():
        stopped = server.stop()
        click.echo(f"{server.name:9} {'stopped' if stopped else 'was not running'}")


@servers.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def servers_status(as_json: bool) -> None:
    """Show whether the local servers run (stale = crashed, state left behind)."""
    rows = []
    for server in local_servers():
        state, info = server.status()
        rows.append({"name": server.name, "state": state, **(asdict(info) if info else {})})
    emit(
        rows,
        as_json,
        "\n".join(f"{r['name']:9} {r['state']:12} {r.get('url', '')}" for r in rows)
        + f"\nstate dir: {default_state_dir()}",
    )

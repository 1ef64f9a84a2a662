"""``ons-pipeline migrate | dlq | rollback``: the migration backfill, what redoes or undoes it."""

from __future__ import annotations

import signal
import threading
from dataclasses import asdict
from typing import Any

import click

from ons_pipeline.cli.common import (
    dagster_bin,
    dagster_home,
    deadletter_store,
    emit,
    influx_client,
    table_names,
)
from ons_pipeline.environment import load_settings
from ons_pipeline.lib import schema


@click.command()
@click.option("--tables", default="all", show_default=True, help="all, ons, legacy or a,b,c")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day (incl.).")
@click.option("--timeout", type=float, default=3600, show_default=True, help="Seconds to wait.")
def migrate(tables: str, start: Any, end: Any, timeout: float) -> None:
    """Backfill the migration over [start, end] through Dagster and follow it.

    One Dagster asset backfill of the table-days not yet migrated (loaded and verified): a few
    runs of many days each (ONS_MIGRATION_RUN_ROWS). Days whose load or verification failed run
    again; the others are skipped. Progress shows days, points, rate and ETA.
    """
    from ons_pipeline.cli.backfill import MigrationInterrupted, run_backfill

    interrupted = threading.Event()

    def stop(_signum: int, _frame: Any) -> None:
        if interrupted.is_set():  # a second Ctrl-C: at once
            raise KeyboardInterrupt
        interrupted.set()
        click.echo("\nstopping (Ctrl-C again to stop at once)…", err=True)

    previous = signal.signal(signal.SIGINT, stop)
    try:
        report = run_backfill(
            tables=table_names(tables),
            first=start.date(),
            last=end.date(),
            home=dagster_home(),
            daemon_bin=dagster_bin("dagster-daemon"),
            timeout=timeout,
            echo=click.echo,
            interrupted=interrupted,
        )
    except (MigrationInterrupted, KeyboardInterrupt):
        raise click.ClickException(
            "interrupted: the days already migrated and verified stay so; `ons-pipeline migrate` "
            "with the same range closes the runs left unfinished and redoes the other days"
        ) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    click.echo(report.summary())
    if report.failed:
        failed = report.failed_partitions
        causes = "".join(f"\n  {_first_lines(c)}" for c in report.causes[:5])
        pending = _pending_dead_letters(list(report.failed))
        raise click.ClickException(
            f"{len(failed)} table-day(s) failed: {', '.join(failed[:20])}"
            + (" …" if len(failed) > 20 else "")
            + " (see the runs in the Dagster UI; `ons-pipeline migrate` again redoes them)"
            + (f"\nwhy:{causes}" if causes else "")
            + (
                f"\n{pending} dead-lettered batch(es) pending: `ons-pipeline dlq list` (the "
                "days redone by migrate make them superseded)"
                if pending
                else ""
            )
        )


def _first_lines(text: str, lines: int = 4, width: int = 300) -> str:
    kept = [line[:width] for line in text.splitlines()[:lines]]
    more = " …" if len(text.splitlines()) > lines else ""
    return "\n  ".join(kept) + more


def _pending_dead_letters(tables: list[str]) -> int:
    """Failed batches kept for ``tables`` and not replayed (0 when the store cannot be read:
    the failure itself is what matters here)."""
    from ons_pipeline.lib.migration.deadletter import STATUS_PENDING

    try:
        entries = deadletter_store().list()
    except Exception:
        return 0
    return sum(1 for e in entries if e.table in tables and e.status == STATUS_PENDING)


@click.group()
def dlq() -> None:
    """Failed batches kept in the dead-letter store (s3://$ONS_S3_BUCKET/deadletter/)."""


@dlq.command("list")
@click.option("--table", default=None, help="Only this table.")
@click.option("--partition", default=None, help="Only this day (YYYY-MM-DD).")
@click.option("--all", "include_replayed", is_flag=True, help="Include replayed entries.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def dlq_list(
    table: str | None, partition: str | None, include_replayed: bool, as_json: bool
) -> None:
    """List failed batches with their error."""
    entries = deadletter_store().list(
        table=table, partition=partition, include_replayed=include_replayed
    )
    lines = [
        f"{e.id}  {e.lines:>6} lines  {e.failures} failure(s)  {e.status}  "
        f"{e.error_class}: {e.error_message[:120]}"
        for e in entries
    ]
    emit([asdict(e) for e in entries], as_json, "\n".join(lines) or "no failed batches")


@dlq.command("replay")
@click.option("--table", default=None, help="Only this table.")
@click.option("--partition", default=None, help="Only this day (YYYY-MM-DD).")
@click.option("--id", "ids", multiple=True, help="Only these entry ids (repeatable).")
def dlq_replay(table: str | None, partition: str | None, ids: tuple[str, ...]) -> None:
    """Write failed batches again; replayed entries are removed, failures stay (idempotent).

    A batch whose partition was rewritten, rolled back, or loaded and verified again after it
    failed is not written (it would bring back older values or deleted points): it is marked
    superseded, with the reason, and listed by `dlq list --all`."""
    import dagster as dg

    from ons_pipeline.defs.state import dead_letter_supersession
    from ons_pipeline.lib.partitions import ParquetStore

    store = deadletter_store()
    aws = load_settings().aws
    dagster_home()
    with dg.DagsterInstance.get() as instance, influx_client() as client:
        superseded = dead_letter_supersession(instance, ParquetStore.of(aws, aws.client("s3")))
        report = store.replay(
            client, list(ids) or None, table=table, partition=partition, superseded=superseded
        )
    click.echo(
        f"replayed {len(report.replayed)} batch(es), {report.lines:,} lines; "
        f"failed {len(report.failed)}; superseded {len(report.superseded)}; "
        f"skipped {len(report.skipped)}"
    )
    for entry_id, why in report.superseded.items():
        click.echo(f"  not replayed {entry_id}: {why}")
    for entry_id, error in report.failed.items():
        click.echo(f"  {entry_id}: {error}")
    if not report.ok:
        raise click.ClickException(report.aborted or "some batches failed again")


@click.command()
@click.option("--table", required=True, help="Table (measurement) to roll back.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day (incl.).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def rollback(table: str, start: Any, end: Any, yes: bool) -> None:
    """Delete a table's days from InfluxDB through Dagster's rollback job (recorded on S3)."""
    spec = schema.table(table)
    if not yes:
        click.confirm(
            f"Delete {spec.measurement} from {start.date()} to {end.date()} in InfluxDB?",
            abort=True,
        )
    import dagster as dg

    from ons_pipeline.definitions import defs

    dagster_home()
    with dg.DagsterInstance.get() as instance:
        result = defs.get_job_def("rollback").execute_in_process(
            run_config={
                "ops": {
                    "rollback_influxdb_range": {
                        "config": {
                            "table": table,
                            "first_day": start.date().isoformat(),
                            "last_day": end.date().isoformat(),
                        }
                    }
                }
            },
            instance=instance,
        )
    key = result.output_for_node("rollback_influxdb_range")
    click.echo(f"rolled back; record at s3://{load_settings().aws.bucket}/{key}")

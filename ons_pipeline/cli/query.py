"""``ons-pipeline query``, ``ons-pipeline ask`` and ``ons-pipeline serve``: the query processor, the
RAG answer and the HTTP API from the command line.

``register(main)`` adds the commands to the project's click group. ``query`` and ``ask`` call the
query and RAG services directly: ``query`` prints their
:class:`~ons_pipeline.lib.query.response.QueryResponse` (``--format json``, what the API's
``POST /v2/query`` answers) or a table of it; errors print the API's error body and exit with
status 1.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import sys
from datetime import datetime
from typing import Any

import click

LOOPBACK_NAMES = {"localhost"}


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse_now(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise click.BadParameter("--now needs a time zone, e.g. 2024-03-08T12:00:00Z")
    return moment


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e15 else repr(value)
    return str(value)


def render_table(body: dict[str, Any]) -> str:
    """A plain-text table of a QueryResponse body, with the query and its metadata below."""
    headers = [
        c["name"] + (f" ({c['unit']})" if c["unit"] and c["kind"] == "value" else "")
        for c in body["columns"]
    ]
    rows = [[_cell(v) for v in row] for row in body["rows"]]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    lines = []
    if body.get("interpretation"):
        lines.append(f"answer to: {body['interpretation']}")
        lines.append("")
    if headers:
        lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) for row in rows]
    query = body["query"]
    lines.append("")
    lines.append(f"{body['row_count']} row(s){' (truncated)' if body['truncated'] else ''}")
    lines.append(f"input: {body['input']['language']} ({body['input']['reason']})")
    executed = "executed" if query["executed"] else "not executed"
    lines.append(f"query ({query['language']}, {executed}):")
    lines += [f"  {line}" for line in (query["text"] or "").splitlines()]
    if body["time_range"]:
        tr = body["time_range"]
        lines.append(f"time range: [{tr['start']}, {tr['end']})")
    source = body.get("answered_from")
    if source:
        lines.append(
            f"answered from: {', '.join(source['measurements']) or '(the query)'} "
            f"({source['kind']}: {source['reason']})"
        )
    timings, cache = body["timings"], body["cache"]
    lines.append(
        f"timings: total {timings['total_ms']:.1f} ms, InfluxDB {timings['execute_ms']:.1f} ms; "
        f"cache {'hit' if cache['hit'] else 'miss'}"
    )
    translation = body.get("translation")
    if translation and translation.get("read_as"):
        lines.append(f"read as: {translation['read_as']}")
    if translation and translation["assumptions"]:
        lines.append("assumptions: " + "; ".join(translation["assumptions"]))
    for warning in body["warnings"]:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)


def register(main: click.Group) -> None:
    """Add ``query``, ``ask`` and ``serve`` to the ``ons-pipeline`` group."""

    @main.command("query", context_settings={"ignore_unknown_options": True})
    @click.argument("text")
    @click.option(
        "--format", "fmt", type=click.Choice(["json", "table"]), default="table", show_default=True
    )
    @click.option(
        "--language",
        type=click.Choice(["auto", "question", "influxql", "flux", "timestream_sql"]),
        default="auto",
        show_default=True,
        help="What TEXT is (auto-detected by default).",
    )
    @click.option(
        "--target",
        type=click.Choice(["influxql", "flux"]),
        default="influxql",
        show_default=True,
        help="Rendering to run for questions and SQL (flux needs InfluxDB 2.x).",
    )
    @click.option("--now", help="Anchor of relative periods (ISO 8601 with zone).")
    @click.option("--timezone", help="Zone of relative periods (default America/Sao_Paulo).")
    @click.option("--dry-run", is_flag=True, help="Translate and render only.")
    @click.option("--max-rows", type=int, help="Rows to return.")
    @click.option("--timeout", "timeout_s", type=float, help="InfluxDB timeout in seconds.")
    @click.option(
        "--lenient",
        is_flag=True,
        help="Answer questions with words not understood (listed as warnings); by default they "
        "are refused, as are filters, periods and numbers not understood (always).",
    )
    @click.option("--strict", is_flag=True, help="Also refuse questions with filler words.")
    @click.option(
        "--rollups/--no-rollups",
        default=None,
        help="Let a routable question read the rollups (default: ONS_QUERY_ROLLUPS, true).",
    )
    @click.option(
        "--previous",
        multiple=True,
        help="An earlier question of the conversation (repeat, oldest first): a follow-up such "
        "as 'e no Nordeste?' is read with them.",
    )
    def query_command(
        text: str,
        fmt: str,
        language: str,
        target: str,
        now: str | None,
        timezone: str | None,
        dry_run: bool,
        max_rows: int | None,
        timeout_s: float | None,
        lenient: bool,
        strict: bool,
        rollups: bool | None,
        previous: tuple[str, ...],
    ) -> None:
        """Run a question (pt-BR/en), InfluxQL, Flux or Timestream SQL query.

        Prints the same JSON schema as the API's POST /v2/query (--format json) or a table.
        InfluxDB comes from ONS_INFLUX_* (default: the local server).
        """
        from ons_pipeline.api.errors import ApiError
        from ons_pipeline.environment import load_settings
        from ons_pipeline.lib.query.backend import InfluxBackend
        from ons_pipeline.lib.query.errors import QueryServiceError
        from ons_pipeline.lib.query.service import (
            InputLanguage,
            QueryInput,
            QueryProcessor,
            TargetLanguage,
            new_query_id,
        )

        query_id = new_query_id()
        try:
            request = QueryInput(
                query=text,
                language=InputLanguage(language),
                target=TargetLanguage(target),
                execute=not dry_run,
                now=_parse_now(now),
                timezone=timezone,
                max_rows=max_rows,
                timeout_s=timeout_s,
                strict=strict,
                lenient=lenient,
                rollups=rollups,
                previous=previous,
            )
            settings = load_settings()
            backend = InfluxBackend.connect(settings.influx)
            try:
                body = QueryProcessor(backend, settings.api).process(request, query_id)
            finally:
                backend.close()
        except QueryServiceError as exc:
            _fail(ApiError.from_service(exc).to_dict(), query_id, fmt)
        data = body.model_dump(mode="json", by_alias=True)
        if fmt == "json":
            click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            click.echo(render_table(data))

    @main.command("ask")
    @click.argument("question")
    @click.option("--json", "as_json", is_flag=True, help="The full context response as JSON.")
    @click.option("--now", help="Anchor of relative periods (ISO 8601 with zone).")
    @click.option(
        "-k",
        "k",
        type=click.IntRange(1, 10),
        default=3,
        show_default=True,
        help="Documents to use.",
    )
    def ask_command(question: str, as_json: bool, now: str | None, k: int) -> None:
        """Answer a question from the data and the ONS knowledge base, with citations.

        Prints the answer and its numbered sources (--json: the API's POST /v2/context body).
        Loads the embedding model (all-MiniLM-L6-v2, offline).
        """
        from ons_pipeline.environment import load_settings
        from ons_pipeline.lib.query.backend import InfluxBackend
        from ons_pipeline.lib.query.service import QueryProcessor
        from ons_pipeline.lib.rag.service import RagService

        settings = load_settings()
        backend = InfluxBackend.connect(settings.influx)
        try:
            rag = RagService(QueryProcessor(backend, settings.api))
            response = rag.respond(rag.run(question, _parse_now(now), k))
            body = response.model_dump(mode="json", by_alias=True)
        finally:
            backend.close()
        if as_json:
            click.echo(json.dumps(body, indent=2, ensure_ascii=False))
            return
        click.echo(body["answer"]["text"])
        click.echo("")
        for item in body["citations"]:
            if item["type"] == "time_series":
                tr = item["time_range"]
                click.echo(
                    f"[{item['ref']}] {item['measurement']} [{tr['start']}, {tr['end']}) "
                    f"{item['record_count']} row(s): {item['query']['text']}"
                )
            else:
                click.echo(f"[{item['ref']}] {item['title']} ({item['location']})")

    @main.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8000, show_default=True, type=int)
    @click.option("--log-level", default="info", show_default=True)
    @click.option(
        "--preload/--no-preload",
        default=True,
        show_default=True,
        help="Load the embedding model at startup (in the background).",
    )
    def serve_command(host: str, port: int, log_level: str, preload: bool) -> None:
        """Start the query API (OpenAPI at /openapi.json, docs at /docs).

        Needs ONS_API_KEY for the data routes; on a loopback host without one, a key is
        generated for this run and printed once to stderr. InfluxDB comes from ONS_INFLUX_*.
        """
        import uvicorn

        from ons_pipeline.api.app import create_app
        from ons_pipeline.environment import load_settings

        if not os.environ.get("ONS_API_KEY"):
            if not _is_loopback(host):
                raise click.ClickException(
                    f"refusing to serve on {host} without ONS_API_KEY: set it, or bind 127.0.0.1"
                )
            os.environ["ONS_API_KEY"] = secrets.token_urlsafe(24)
            click.echo(
                f"ONS_API_KEY is not set: this run's key is {os.environ['ONS_API_KEY']}",
                err=True,
            )
        app = create_app(load_settings(), preload_knowledge=preload)
        backend = app.state.backend
        click.echo(
            f"InfluxDB {backend.config.url} (engine {backend.engine}, database "
            f"{backend.database}); API on http://{host}:{port}",
            err=True,
        )
        uvicorn.run(app, host=host, port=port, log_level=log_level)


def _fail(error: dict[str, Any], query_id: str, fmt: str) -> None:
    body = {"error": error, "query_id": query_id}
    if fmt == "json":
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        click.echo(f"error {error['status']} {error['code']}: {error['message']}", err=True)
        details = error.get("details") or {}
        for item in details.get("not_understood") or []:
            click.echo(
                f"  not understood ({item['kind']}): {item['text']!r} — {item['reason']}", err=True
            )
        if details.get("suggestions"):
            click.echo("  try: " + " | ".join(details["suggestions"][:6]), err=True)
    sys.exit(1)

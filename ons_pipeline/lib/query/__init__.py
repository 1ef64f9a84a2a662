"""Query layer: one typed query model rendered to InfluxQL and Flux, built from natural-language
questions (pt-BR, en) or from the replaced platform's Timestream SQL, and run on InfluxDB.

- :mod:`.model` — ``QueryModel`` and its parts (validated against ``schema.tables()``)
- :mod:`.influxql` / :mod:`.flux` — ``render_influxql(model)``, ``render_flux(model, bucket)``
- :mod:`.execute` — ``execute(model, client_or_url, database)`` → ``QueryResult``
- :mod:`.rollups` — a routable model answered from the rollups (``execute(..., rollups=)``),
  with the raw answer's semantics; ``AnswerSource`` says which measurement answered
- :mod:`.nl` — ``translate(question, now, latest=...)`` / ``RuleTranslator`` → ``Translation``
  (with :mod:`.periods` — periods in questions, :mod:`.numbers` — numbers in words and digits,
  :mod:`.text` — the consumable question text, :mod:`.describe` — a model in words)
- :mod:`.timestream_sql` — ``parse_sql(sql, now)`` → ``SqlTranslation``; ``execute_sql``
- :mod:`.fluxcheck` — ``FluxChecker`` (InfluxData's Flux language server under node)
- :mod:`.service` — ``QueryProcessor.process(QueryInput)`` → ``QueryResponse`` (:mod:`.response`),
  the one entry of the API and the CLI; :mod:`.backend` — its InfluxDB (through ``InfluxClient``);
  :mod:`.detect` — input language, read-only guard; :mod:`.cache` — TTL cache
- :mod:`.errors` — the domain errors (stable codes; the API maps them to HTTP statuses)
"""

from ons_pipeline.lib.query.errors import ExecutionError
from ons_pipeline.lib.query.execute import QueryResult, execute
from ons_pipeline.lib.query.flux import render_flux
from ons_pipeline.lib.query.influxql import RenderError, render_influxql
from ons_pipeline.lib.query.model import ModelError, QueryModel
from ons_pipeline.lib.query.nl import RuleTranslator, Translation, translate
from ons_pipeline.lib.query.timestream_sql import SqlError, execute_sql, parse_sql

__all__ = [
    "ExecutionError",
    "ModelError",
    "QueryModel",
    "QueryResult",
    "RenderError",
    "RuleTranslator",
    "SqlError",
    "Translation",
    "execute",
    "execute_sql",
    "parse_sql",
    "render_flux",
    "render_influxql",
    "translate",
]

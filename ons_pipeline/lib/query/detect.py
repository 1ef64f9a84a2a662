"""What the input is (question, InfluxQL, Flux, Timestream SQL), its normal form for caching, and
the read-only guard for raw InfluxQL.

Detection: ``|>`` or ``from(bucket:`` is Flux; ``SHOW``/``EXPLAIN`` is InfluxQL; a ``SELECT`` is
Timestream SQL when it has constructs only SQL has (``measure_value::double``, ``ago()``,
``bin()``, ``avg()``, ``BETWEEN``, ``"db"."table"``, ``db.table`` when ``db`` is no retention
policy, …) more than InfluxQL-only ones (``GROUP BY time()``, ``mean()``, ``fill()``, ``=~``,
``"db".."m"``, …), else InfluxQL (a SELECT valid in both with nothing specific is read as
InfluxQL); anything else is a question. An
explicit ``language`` in the request overrides all of this.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ons_pipeline.lib.query.errors import QueryRefused
from ons_pipeline.lib.query.timestream_sql import SqlError, parse_sql
from ons_pipeline.lib.schema import retention_groups

QUESTION, INFLUXQL, FLUX, TIMESTREAM_SQL = "question", "influxql", "flux", "timestream_sql"

_FLUX = re.compile(r"\|>|\bfrom\s*\(\s*bucket\s*:|^\s*import\s+\"|^\s*option\s+\w", re.M)
_LEADING = re.compile(r"\A(?:\s+|--[^\n]*\n?|/\*.*?\*/|\()*", re.S)
_FIRST_WORD = re.compile(r"[A-Za-z]+")
_SQL_MARKERS = [
    r"measure_value\s*::",
    r"\bmeasure_name\b",
    r"\bago\s*\(",
    r"\bbin\s*\(",
    r"\bavg\s*\(",
    r"\bfrom_iso8601_timestamp\s*\(",
    r"\bfrom_milliseconds\s*\(",
    r"\bbetween\b",
    r"\bcount\s*\(\s*\*\s*\)",
    r"\btimestamp\s+'",
    r'"[^"]+"\s*\.\s*"[^"]+"(?!\s*\.)',
]
_INFLUXQL_MARKERS = [
    r"\bgroup\s+by\s+time\s*\(",
    r"\bmean\s*\(",
    r"\bfill\s*\(",
    r"=~|!~",
    r"::(?:tag|field)\b",
    r"\btz\s*\(",
    r"\bs(?:limit|offset)\b",
    r"\b(?:spread|percentile|moving_average|derivative|non_negative_\w+|integral|mode)\s*\(",
    r'"[^"]*"\s*\.\s*"[^"]*"\s*\.\s*"',
    r'"[^"]+"\s*\.\s*\.',
]


def _score(text: str, patterns: list[str]) -> int:
    return sum(1 for p in patterns if re.search(p, text, re.I))


_QUALIFIED_FROM = re.compile(
    r'\bfrom\s+"?([A-Za-z_]\w*)"?\s*\.\s*"?[A-Za-z_]\w*\b"?(?!\s*\.)', re.I
)


def _database_qualified(text: str) -> bool:
    """``FROM ons.curva_carga``: in InfluxQL the first part is a retention policy; when it is
    not one the mapping declares (nor ``autogen``), it is Timestream's database."""
    found = _QUALIFIED_FROM.search(text)
    if found is None:
        return False
    policies = {g.policy for g in retention_groups().values() if g.policy} | {"autogen"}
    return found.group(1).lower() not in {p.lower() for p in policies}


def detect_language(text: str, now: datetime | None = None) -> tuple[str, str]:
    """``(language, reason)`` of ``text`` — see the module docstring."""
    if _FLUX.search(text):
        return FLUX, "Flux pipe-forward (|>) or from(bucket:)"
    head = _LEADING.sub("", text, count=1)
    word = _FIRST_WORD.match(head)
    first = word.group(0).upper() if word else ""
    if first in ("SHOW", "EXPLAIN"):
        return INFLUXQL, f"starts with {first}"
    if first in ("SELECT", "WITH"):
        sql, influx = _score(text, _SQL_MARKERS), _score(text, _INFLUXQL_MARKERS)
        sql += _database_qualified(text)
        try:
            parse_sql(text, now or datetime.now(UTC))
        except SqlError:
            parses = False
        else:
            parses = True
        if parses and sql > 0 and sql >= influx:
            return TIMESTREAM_SQL, "parses as the legacy platform's Timestream SQL"
        if sql > influx:
            return TIMESTREAM_SQL, f"Timestream SQL constructs ({sql} vs {influx} InfluxQL)"
        if parses:
            return INFLUXQL, "valid in both languages with nothing Timestream-specific: InfluxQL"
        return INFLUXQL, f"a SELECT with InfluxQL constructs ({influx} vs {sql} SQL)"
    return QUESTION, "natural language"


# -- normal form ------------------------------------------------------------------------------


_OPERAND_END = re.compile(r"[\w.\"')\]}]")
_NO_OPERAND_WORDS = frozenset({"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "BY", "RETURN"})


def _regex_may_start(text: str, i: int, flux: bool) -> bool:
    """Whether a ``/`` at ``i`` opens a regex literal rather than dividing: only where an
    operand is expected — after ``=~`` / ``!~`` (and, in Flux, any operator or punctuation) or a
    keyword such as ``FROM`` — never after a name, number, quote or closing bracket."""
    before = text[:i].rstrip()
    if not before:
        return flux
    if before.endswith(("=~", "!~")):
        return True
    if flux:
        if _OPERAND_END.match(before[-1]):
            word = re.search(r"[A-Za-z_]\w*$", before)
            return word is not None and word.group(0).lower() in ("return", "and", "or", "not")
        return True
    word = re.search(r"[A-Za-z_]\w*$", before)
    if word is not None and word.group(0).upper() in _NO_OPERAND_WORDS:
        return True
    return before.endswith((",", "("))


def _quoted_end(text: str, i: int, flux: bool) -> int:
    """Index just past the literal opened at ``i`` (``'``, ``"`` or ``/``), honouring backslash
    escapes (and, in a Flux string, ``${…}`` interpolations with strings inside); -1 when it is
    not closed."""
    close, j, n = text[i], i + 1, len(text)
    while j < n:
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == close:
            return j + 1
        if flux and close == '"' and text.startswith("${", j):
            j += 2
            depth = 1
            while j < n and depth:
                if text[j] == '"':
                    inner = _quoted_end(text, j, flux)
                    if inner < 0:
                        return -1
                    j = inner
                    continue
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            continue
        j += 1
    return -1


def _segments(text: str, language: str = INFLUXQL, strict: bool = True) -> list[tuple[str, str]]:
    """``(kind, text)`` runs: ``code``, ``string``, ``ident`` ("…" in InfluxQL), ``regex``
    (``/…/``) and ``comment``, by the lexical rules of ``language``: InfluxQL (also Timestream
    SQL) quotes with ``'`` and ``"`` and comments with ``--`` and ``/* */``; Flux quotes strings
    with ``"`` and comments with ``//``. Both have ``/regex/`` literals with ``\\/`` escapes.

    An unterminated quote or comment raises ValueError when ``strict``; otherwise the rest of
    the text is one ``string`` run, kept as written. A ``/`` that opens no closed regex divides."""
    flux = language == FLUX
    out: list[tuple[str, str]] = []
    i, n, start = 0, len(text), 0

    def literal(kind: str, j: int) -> None:
        nonlocal i, start
        if start < i:
            out.append(("code", text[start:i]))
        out.append((kind, text[i:j]))
        i = start = j

    while i < n:
        ch = text[i]
        if ch == '"' or (ch == "'" and not flux):
            j = _quoted_end(text, i, flux)
            if j < 0:
                if strict:
                    raise ValueError(f"unterminated {ch} quote starting at position {i}")
                literal("string", n)
                break
            literal("string" if ch == "'" or flux else "ident", j)
            continue
        comment_start = ("//",) if flux else ("--", "/*")
        if text.startswith(comment_start, i):
            if text.startswith("/*", i):
                j = text.find("*/", i + 2)
                if j < 0:
                    if strict:
                        raise ValueError(f"unterminated comment starting at position {i}")
                    literal("string", n)
                    break
                j += 2
            else:
                j = text.find("\n", i)
                j = n if j < 0 else j
            literal("comment", j)
            continue
        if ch == "/" and _regex_may_start(text, i, flux):
            j = _quoted_end(text, i, flux)
            if j > 0:
                literal("regex", j)
                continue
        i += 1
    if start < n:
        out.append(("code", text[start:]))
    return out


def normalise_query_text(text: str, language: str = INFLUXQL) -> str:
    """Whitespace runs outside literals collapsed, comments dropped, ends stripped (a cache key;
    case is kept, since identifiers are case-sensitive). String, identifier and regex literals
    are kept exactly as written (``/--|SE/`` is a regex, not a comment), by the lexical rules of
    ``language`` (``influxql`` or ``flux``)."""
    parts: list[str] = []
    code = ""
    for kind, piece in _segments(text, language, strict=False):
        if kind in ("code", "comment"):
            code += " " if kind == "comment" else piece
            continue
        parts.append(re.sub(r"\s+", " ", code))
        parts.append(piece)
        code = ""
    parts.append(re.sub(r"\s+", " ", code))
    return "".join(parts).strip()


# -- read-only guard --------------------------------------------------------------------------

_WRITE_WORDS = re.compile(r"\b(INTO|DROP|DELETE|CREATE|ALTER|GRANT|REVOKE|KILL|SET)\b", re.I)
_SHOW_ALLOWED = re.compile(
    r"^\s*SHOW\s+(?:MEASUREMENTS|MEASUREMENT\s+(?:CARDINALITY|EXACT\s+CARDINALITY)|TAG\s+KEYS|"
    r"TAG\s+VALUES|FIELD\s+KEYS|SERIES|RETENTION\s+POLICIES|DATABASES)\b",
    re.I,
)


def strip_leading(text: str) -> str:
    """``text`` without leading whitespace, comments and opening parentheses."""
    return _LEADING.sub("", text, count=1)


def is_readonly_show(statement: str) -> bool:
    """Whether ``statement`` is one of the ``SHOW`` statements the read-only API runs."""
    return _SHOW_ALLOWED.match(statement) is not None


def check_readonly_influxql(text: str) -> list[str]:
    """The statements of ``text`` if every one only reads (``SELECT`` without ``INTO``, or a
    ``SHOW`` of measurements/tags/fields/series/retention policies/databases); else
    :class:`QueryRefused`.

    Conservative: a write or admin keyword anywhere — even inside a quoted name — is refused."""
    try:
        segments = _segments(text)
    except ValueError as exc:
        raise QueryRefused("bad_query", f"InfluxQL: {exc}") from None
    statements, current = [], []
    for kind, piece in segments:
        if kind != "code":
            current.append(piece if kind != "comment" else " ")
            continue
        pieces = piece.split(";")
        current.append(pieces[0])
        for rest in pieces[1:]:
            statements.append("".join(current))
            current = [rest]
    statements.append("".join(current))
    statements = [s.strip() for s in statements if s.strip()]
    if not statements:
        raise QueryRefused("bad_query", "empty InfluxQL query")
    word = _WRITE_WORDS.search(text)
    if word:
        raise QueryRefused(
            "forbidden_statement",
            f"the query API is read-only: {word.group(1).upper()!r} is not allowed",
            {"keyword": word.group(1).upper(), "position": word.start()},
        )
    for stmt in statements:
        head = _LEADING.sub("", stmt, count=1)
        word = _FIRST_WORD.match(head)
        first = word.group(0) if word else ""
        if first.upper() == "SELECT":
            continue
        if first.upper() == "SHOW" and _SHOW_ALLOWED.match(head):
            continue
        raise QueryRefused(
            "forbidden_statement",
            "the query API is read-only: only SELECT and SHOW MEASUREMENTS / TAG KEYS / TAG "
            f"VALUES / FIELD KEYS / SERIES / RETENTION POLICIES / DATABASES, not {stmt[:60]!r}",
        )
    return statements


# Flux packages a read-only query may import; the others write, call out (http, sql, sockets,
# notification endpoints) or read secrets
_FLUX_IMPORTS = frozenset(
    {
        "array",
        "contrib/tomhollingworth/events",
        "date",
        "experimental",
        "experimental/aggregate",
        "experimental/array",
        "influxdata/influxdb/schema",
        "influxdata/influxdb/v1",
        "internal/debug",
        "interpolate",
        "join",
        "math",
        "regexp",
        "strings",
        "system",
        "timezone",
        "types",
        "universe",
    }
)
_FLUX_IMPORT = re.compile(r'\bimport\s+(?:\w+\s+)?"([^"]*)"')
# writing calls, and arguments that reach another server (host, token, url)
_FLUX_FORBIDDEN = re.compile(
    r"(?<![\w.])(?:to|wideTo)\s*\(|\bexperimental\s*\.\s*to\s*\(|\b(?:host|token|url)\s*:"
)


def check_readonly_flux(text: str) -> None:
    """Refuse (:class:`QueryRefused`) Flux that could write or reach beyond the configured
    server: an import outside the read-only packages (``http``, ``sql``, ``secrets``, ``csv``,
    notification endpoints…), a ``to()`` / ``wideTo()`` / ``experimental.to()`` call, or a
    ``host:``, ``token:`` or ``url:`` argument. A read-only token is the server's own guard;
    this one holds when the token is not read-only, and stops call-outs either way."""
    for match in _FLUX_IMPORT.finditer(text):
        if match.group(1) not in _FLUX_IMPORTS:
            raise QueryRefused(
                "forbidden_statement",
                f"the query API is read-only: Flux package {match.group(1)!r} is not allowed",
                {"package": match.group(1), "position": match.start()},
            )
    try:
        segments = _segments(text, FLUX)
    except ValueError as exc:
        raise QueryRefused("bad_query", f"Flux: {exc}") from None
    offset = 0
    for kind, piece in segments:
        if kind == "code":
            found = _FLUX_FORBIDDEN.search(piece)
            if found:
                raise QueryRefused(
                    "forbidden_statement",
                    "the query API is read-only and reads only its own server: "
                    f"{found.group(0).strip()!r} is not allowed in Flux",
                    {"construct": found.group(0).strip(), "position": offset + found.start()},
                )
        offset += len(piece)

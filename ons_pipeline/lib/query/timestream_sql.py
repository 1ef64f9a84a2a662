"""Timestream SQL (the replaced platform's query shapes) → :class:`QueryModel`.

Supported: ``SELECT`` of dimensions, ``time``, ``bin(time, 1h)``, ``measure_name``,
``measure_value::double`` (legacy single-measure tables) or measure columns (multi-measure ONS
tables), aggregates ``avg max min sum count stddev`` (``count(*)``) and arithmetic over them,
``AS`` aliases; ``FROM "db"."table"``; ``WHERE`` with ``AND`` of time conditions (``BETWEEN``,
``>= > < <= =`` against ``ago(7d)``, ``now()``, ``now() - 1h``, ``from_iso8601_timestamp('…')``,
``from_milliseconds(n)``, ``TIMESTAMP '…'`` or a string), dimension conditions (``= <> != IN NOT
IN``, ``OR`` of equalities on one dimension), ``measure_name = '…'`` and measure comparisons;
``GROUP BY`` dimensions / ``bin(time, …)`` / aliases / ordinals; ``ORDER BY`` (columns, aliases,
ordinals, ``ASC``/``DESC``); ``LIMIT``. ``BETWEEN`` keeps SQL's inclusive end (``[a, b]`` becomes
``[a, b + 1 ns)``). Anything else raises :class:`SqlError` naming the construct and its position.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ons_pipeline.lib import schema
from ons_pipeline.lib.ons_time import to_ns
from ons_pipeline.lib.query.execute import (
    Column,
    QueryResult,
    QueryRunner,
    arrange,
    execute,
    result_columns,
)
from ons_pipeline.lib.query.model import (
    NS_PER_SECOND,
    Agg,
    Aggregation,
    BinOp,
    Const,
    Duration,
    Expr,
    FieldRef,
    FilterOp,
    ModelError,
    OrderKey,
    QueryModel,
    Selection,
    TagFilter,
    TimeRange,
    ValueFilter,
    evaluate,
    parse_time,
)
from ons_pipeline.lib.query.rollups import AnswerSource
from ons_pipeline.lib.rollup.spec import RollupTable
from ons_pipeline.lib.schema import MeasureType, Source, TableSpec


class SqlError(ValueError):
    """Unsupported or invalid SQL, with the offending construct and its position."""

    def __init__(
        self, message: str, sql: str = "", position: int | None = None, construct: str = ""
    ):
        self.sql = sql
        self.position = position
        self.construct = construct
        self.line, self.column = _line_col(sql, position) if position is not None else (None, None)
        where = f" at line {self.line}, column {self.column}" if self.line is not None else ""
        super().__init__(f"{message}{where}" + (f"\n{self._caret()}" if self.line else ""))

    def _caret(self) -> str:
        assert self.position is not None and self.column is not None
        line_text = self.sql.splitlines()[self.line - 1] if self.sql.splitlines() else ""  # type: ignore[operator]
        return f"  {line_text}\n  {' ' * (self.column - 1)}^"

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": str(self).split("\n", 1)[0],
            "construct": self.construct,
            "position": self.position,
            "line": self.line,
            "column": self.column,
        }


def _line_col(sql: str, position: int) -> tuple[int, int]:
    before = sql[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


# -- tokens -----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|--[^\n]*|/\*.*?\*/)
    |(?P<dur>\d+(?:ns|us|ms|s|m|h|d)\b)
    |(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)
    |(?P<str>'(?:[^']|'')*')
    |(?P<qid>"(?:[^"]|"")+")
    |(?P<id>[A-Za-z_][A-Za-z0-9_$]*)
    |(?P<op>::|<=|>=|<>|!=|\|\||[=<>(),.*+\-/;%])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class _Tok:
    kind: str  # dur num str id qid op eof
    text: str
    pos: int

    @property
    def value(self) -> str:
        if self.kind == "str":
            return self.text[1:-1].replace("''", "'")
        if self.kind == "qid":
            return self.text[1:-1].replace('""', '"')
        return self.text

    def kw(self, *words: str) -> bool:
        return self.kind == "id" and self.text.upper() in words


def _tokenize(sql: str) -> list[_Tok]:
    tokens, pos = [], 0
    while pos < len(sql):
        match = _TOKEN.match(sql, pos)
        if not match:
            raise SqlError(f"unexpected character {sql[pos]!r}", sql, pos, "character")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(_Tok(kind, match.group(0), pos))
        pos = match.end()
    tokens.append(_Tok("eof", "", len(sql)))
    return tokens


# -- AST --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    kind: str  # col func num str star binop neg cast
    pos: int
    name: str = ""
    args: tuple[_Node, ...] = ()
    value: Any = None

    def text(self) -> str:
        if self.kind == "col":
            return self.name
        if self.kind == "func":
            return f"{self.name}({', '.join(a.text() for a in self.args)})"
        if self.kind == "cast":
            return f"{self.args[0].text()}::{self.name}"
        if self.kind == "binop":
            return f"({self.args[0].text()} {self.name} {self.args[1].text()})"
        if self.kind == "neg":
            return f"-{self.args[0].text()}"
        return str(self.value if self.kind != "star" else "*")


_UNSUPPORTED_KEYWORDS = {
    "JOIN": "JOIN",
    "UNION": "UNION",
    "INTERSECT": "INTERSECT",
    "EXCEPT": "EXCEPT",
    "WITH": "WITH (common table expressions)",
    "HAVING": "HAVING",
    "DISTINCT": "DISTINCT",
    "CASE": "CASE",
    "OVER": "window functions (OVER)",
    "LIKE": "LIKE",
    "IS": "IS [NOT] NULL",
    "OFFSET": "OFFSET",
    "UNLOAD": "UNLOAD",
    "INSERT": "INSERT",
    "DELETE": "DELETE",
    "UPDATE": "UPDATE",
    "CREATE": "CREATE",
    "DROP": "DROP",
    "INTERVAL": "INTERVAL literals (use 7d, 1h)",
    "NULLS": "NULLS FIRST/LAST",
    "FETCH": "FETCH",
}


class _Parser:
    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.toks = _tokenize(sql)
        self.i = 0

    # helpers
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def error(self, message: str, tok: _Tok | None = None, construct: str = "") -> SqlError:
        t = tok or self.tok
        return SqlError(message, self.sql, t.pos, construct or t.text or "end of query")

    def next(self) -> _Tok:
        tok = self.tok
        self.i += 1
        return tok

    def accept_kw(self, *words: str) -> bool:
        if self.tok.kw(*words):
            self.i += 1
            return True
        return False

    def expect_kw(self, word: str) -> None:
        if not self.accept_kw(word):
            self._unsupported_check()
            raise self.error(f"expected {word}, found {self.tok.text or 'end of query'!r}")

    def accept_op(self, op: str) -> bool:
        if self.tok.kind == "op" and self.tok.text == op:
            self.i += 1
            return True
        return False

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            self._unsupported_check()
            raise self.error(f"expected {op!r}, found {self.tok.text or 'end of query'!r}")

    def _unsupported_check(self) -> None:
        tok = self.tok
        if tok.kind == "id" and tok.text.upper() in _UNSUPPORTED_KEYWORDS:
            construct = _UNSUPPORTED_KEYWORDS[tok.text.upper()]
            raise self.error(f"unsupported construct: {construct}", tok, construct)
        if tok.kw("SELECT"):
            raise self.error("unsupported construct: subquery", tok, "subquery")

    # grammar
    def query(self) -> dict[str, Any]:
        if not self.tok.kw("SELECT"):
            self._unsupported_check()
        self.expect_kw("SELECT")
        self._unsupported_check()
        items = [self.select_item()]
        while self.accept_op(","):
            items.append(self.select_item())
        self.expect_kw("FROM")
        table = self.table_ref()
        where = None
        if self.accept_kw("WHERE"):
            where = self.condition()
        group: list[_Node] = []
        if self.accept_kw("GROUP"):
            self.expect_kw("BY")
            group = [self.expr()]
            while self.accept_op(","):
                group.append(self.expr())
        order: list[tuple[_Node, bool]] = []
        if self.accept_kw("ORDER"):
            self.expect_kw("BY")
            order = [self.order_item()]
            while self.accept_op(","):
                order.append(self.order_item())
        limit = None
        if self.accept_kw("LIMIT"):
            tok = self.next()
            if tok.kind != "num" or not tok.text.isdigit() or int(tok.text) < 1:
                raise self.error("LIMIT needs a positive integer", tok, "LIMIT")
            limit = int(tok.text)
        self.accept_op(";")
        if self.tok.kind != "eof":
            self._unsupported_check()
            raise self.error(f"unexpected {self.tok.text!r}")
        return {
            "items": items,
            "table": table,
            "where": where,
            "group": group,
            "order": order,
            "limit": limit,
        }

    def select_item(self) -> tuple[_Node, str | None, int]:
        start = self.tok.pos
        if self.accept_op("*"):
            return _Node("star", start), None, start
        node = self.expr()
        alias = None
        if self.accept_kw("AS"):
            tok = self.next()
            if tok.kind not in ("id", "qid"):
                raise self.error("expected an alias after AS", tok)
            alias = tok.value
        elif self.tok.kind in ("id", "qid") and not self.tok.kw("FROM"):
            self._unsupported_check()
            alias = self.next().value
        return node, alias, start

    def table_ref(self) -> tuple[str, int, str | None]:
        tok = self.tok
        if tok.kind == "op" and tok.text == "(":
            raise self.error("unsupported construct: subquery", tok, "subquery")
        parts = [self.ident()]
        while self.accept_op("."):
            parts.append(self.ident())
        if len(parts) > 2:
            raise self.error('expected "database"."table"', tok)
        alias = None
        if self.accept_kw("AS") or (
            self.tok.kind in ("id", "qid")
            and not self.tok.kw("WHERE", "GROUP", "ORDER", "LIMIT", *_UNSUPPORTED_KEYWORDS)
        ):
            alias = self.ident()
        if self.tok.kw("JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS") or self.tok.text == ",":
            raise self.error("unsupported construct: JOIN", self.tok, "JOIN")
        return parts[-1], tok.pos, alias

    def ident(self) -> str:
        tok = self.next()
        if tok.kind not in ("id", "qid"):
            raise self.error(f"expected a name, found {tok.text or 'end of query'!r}", tok)
        return tok.value

    def order_item(self) -> tuple[_Node, bool]:
        node = self.expr()
        desc = False
        if self.accept_kw("DESC"):
            desc = True
        else:
            self.accept_kw("ASC")
        self._unsupported_check()
        return node, desc

    # conditions: list of OR-groups of predicates
    def condition(self) -> _Node:
        left = self.conjunction()
        while self.tok.kw("OR"):
            pos = self.next().pos
            left = _Node("or", pos, args=(left, self.conjunction()))
        return left

    def conjunction(self) -> _Node:
        left = self.predicate()
        while self.tok.kw("AND"):
            pos = self.next().pos
            left = _Node("and", pos, args=(left, self.predicate()))
        return left

    def predicate(self) -> _Node:
        tok = self.tok
        if tok.kw("NOT"):
            raise self.error("unsupported construct: NOT (use <> or NOT IN)", tok, "NOT")
        if tok.kind == "op" and tok.text == "(":
            save = self.i
            self.next()
            if self.tok.kw("SELECT"):
                raise self.error("unsupported construct: subquery", self.tok, "subquery")
            try:
                inner = self.condition()
                self.expect_op(")")
                return inner
            except SqlError:
                self.i = save
        left = self.expr()
        tok = self.tok
        if tok.kw("BETWEEN"):
            self.next()
            low = self.expr()
            self.expect_kw("AND")
            high = self.expr()
            return _Node("between", tok.pos, args=(left, low, high))
        negate = False
        if tok.kw("NOT"):
            self.next()
            negate = True
            tok = self.tok
        if tok.kw("IN"):
            self.next()
            self.expect_op("(")
            if self.tok.kw("SELECT"):
                raise self.error("unsupported construct: subquery", self.tok, "subquery")
            values = [self.expr()]
            while self.accept_op(","):
                values.append(self.expr())
            self.expect_op(")")
            return _Node("notin" if negate else "in", tok.pos, args=(left, *values))
        if negate:
            raise self.error("unsupported construct: NOT", tok, "NOT")
        if tok.kind == "op" and tok.text in ("=", "<>", "!=", "<", "<=", ">", ">="):
            self.next()
            right = self.expr()
            return _Node("cmp", tok.pos, name=tok.text, args=(left, right))
        self._unsupported_check()
        raise self.error(f"expected a comparison, found {tok.text or 'end of query'!r}", tok)

    # expressions
    def expr(self) -> _Node:
        left = self.term()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            tok = self.next()
            left = _Node("binop", tok.pos, name=tok.text, args=(left, self.term()))
        return left

    def term(self) -> _Node:
        left = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/", "%"):
            tok = self.next()
            if tok.text == "%":
                raise self.error("unsupported operator: %", tok, "%")
            left = _Node("binop", tok.pos, name=tok.text, args=(left, self.unary()))
        return left

    def unary(self) -> _Node:
        if self.tok.kind == "op" and self.tok.text == "-":
            tok = self.next()
            return _Node("neg", tok.pos, args=(self.unary(),))
        node = self.primary()
        while self.accept_op("::"):
            tok = self.next()
            if tok.kind != "id":
                raise self.error("expected a type after ::", tok)
            node = _Node("cast", node.pos, name=tok.text.lower(), args=(node,))
        return node

    def primary(self) -> _Node:
        tok = self.next()
        if tok.kind == "num":
            return _Node("num", tok.pos, value=float(tok.text))
        if tok.kind == "dur":
            return _Node("dur", tok.pos, value=tok.text)
        if tok.kind == "str":
            return _Node("str", tok.pos, value=tok.value)
        if tok.kind == "op" and tok.text == "(":
            if self.tok.kw("SELECT"):
                raise self.error("unsupported construct: subquery", self.tok, "subquery")
            inner = self.expr()
            self.expect_op(")")
            return inner
        if tok.kind == "op" and tok.text == "*":
            return _Node("star", tok.pos)
        if tok.kind == "id" and tok.text.upper() in _UNSUPPORTED_KEYWORDS:
            construct = _UNSUPPORTED_KEYWORDS[tok.text.upper()]
            raise self.error(f"unsupported construct: {construct}", tok, construct)
        if tok.kw("TIMESTAMP") and self.tok.kind == "str":
            lit = self.next()
            return _Node(
                "func", tok.pos, name="timestamp", args=(_Node("str", lit.pos, value=lit.value),)
            )
        if tok.kind in ("id", "qid"):
            if self.tok.kind == "op" and self.tok.text == "(" and tok.kind == "id":
                self.next()
                args: list[_Node] = []
                if self.tok.kw("DISTINCT"):
                    raise self.error("unsupported construct: DISTINCT", self.tok, "DISTINCT")
                if not self.accept_op(")"):
                    args.append(self.expr())
                    while self.accept_op(","):
                        args.append(self.expr())
                    self.expect_op(")")
                if self.tok.kw("OVER"):
                    construct = _UNSUPPORTED_KEYWORDS["OVER"]
                    raise self.error(f"unsupported construct: {construct}", self.tok, construct)
                return _Node("func", tok.pos, name=tok.text.lower(), args=tuple(args))
            name = tok.value
            if self.accept_op("."):
                name = self.ident()  # table-qualified column: the table is the FROM table
            return _Node("col", tok.pos, name=name)
        raise self.error(f"unexpected {tok.text or 'end of query'!r}", tok)


# -- semantics --------------------------------------------------------------------------------

RECORDS = "*"  # count(*)'s leaf in SqlTranslation.records; RECORDS + name counts a dimension
_AGGS = {
    "avg": Aggregation.MEAN,
    "mean": Aggregation.MEAN,
    "max": Aggregation.MAX,
    "min": Aggregation.MIN,
    "sum": Aggregation.SUM,
    "count": Aggregation.COUNT,
    "stddev": Aggregation.STDDEV,
    "stddev_samp": Aggregation.STDDEV,
}
_KNOWN_UNSUPPORTED_FUNCS = {
    "approx_percentile", "approx_distinct", "interpolate_linear", "interpolate_locf",
    "create_time_series", "unnest", "date_trunc", "extract", "lag", "lead", "rank", "row_number",
    "coalesce", "if", "round", "abs", "cast", "arbitrary", "max_by", "min_by", "variance",
    "stddev_pop", "var_pop", "histogram", "date_format", "format_datetime",
}  # fmt: skip
_TIME_FUNCS = {
    "ago",
    "now",
    "from_iso8601_timestamp",
    "from_milliseconds",
    "from_nanoseconds",
    "timestamp",
    "from_unixtime",
    "current_timestamp",
}


@dataclass(frozen=True)
class SqlTranslation:
    """The model of a SQL query and the constant columns it selects (``measure_name``)."""

    sql: str
    model: QueryModel
    constants: dict[str, str] = field(default_factory=dict)
    columns: tuple[str, ...] = ()
    # the selections with SQL's counts of records (``count(*)``, ``count(time)``) and of a
    # dimension's non-NULL values, when InfluxDB's per-field count() cannot answer them
    records: tuple[Selection, ...] | None = None


class _Semantics:
    def __init__(self, sql: str, parsed: dict[str, Any], now: datetime) -> None:
        self.sql = sql
        self.p = parsed
        self.now_ns = to_ns(now)
        name, pos, _ = parsed["table"]
        try:
            self.spec: TableSpec = schema.table(name)
        except schema.SchemaError:
            raise SqlError(
                f"unknown table {name!r}; tables: {', '.join(sorted(schema.tables()))}",
                sql,
                pos,
                "FROM",
            ) from None
        self.legacy = self.spec.source is Source.LEGACY
        self.aliases: dict[str, _Node] = {}
        self.exact = False  # value_expr: counts of records as RECORDS / RECORDS + dimension
        self.counts_records = False

    def err(self, message: str, node: _Node | None, construct: str = "") -> SqlError:
        return SqlError(
            message,
            self.sql,
            node.pos if node else None,
            construct or (node.text() if node else ""),
        )

    # -- column classification --
    def field_of(self, node: _Node) -> str | None:
        """The measure a column or cast reads, or None if it is not a measure."""
        if node.kind == "cast":
            inner = node.args[0]
            if inner.kind == "col" and inner.name.lower() == "measure_value":
                if not self.legacy:
                    raise self.err(
                        f"{self.spec.name} is a multi-measure table: select its measure columns "
                        f"({', '.join(self.spec.field_names)}) instead of measure_value",
                        node,
                        "measure_value",
                    )
                if node.name != "double":
                    raise self.err(
                        f"{self.spec.name} holds DOUBLE measures, not {node.name}",
                        node,
                        f"measure_value::{node.name}",
                    )
                return "value"
            inner_field = self.field_of(inner)
            if inner_field is None:
                raise self.err("unsupported construct: cast of a non-measure", node, "::")
            ftype = self.spec.field_spec(inner_field).type
            expected = {
                "double": MeasureType.DOUBLE,
                "bigint": MeasureType.BIGINT,
                "varchar": MeasureType.VARCHAR,
                "boolean": MeasureType.BOOLEAN,
            }
            if expected.get(node.name) != ftype:
                raise self.err(f"{inner_field} is {ftype}, not {node.name}", node, "::")
            return inner_field
        if node.kind == "col":
            if node.name.lower() == "measure_value":
                raise self.err("measure_value needs a type: measure_value::double", node)
            if node.name in self.spec.field_names and not self.legacy:
                return node.name
        return None

    def is_tag(self, node: _Node) -> bool:
        return node.kind == "col" and node.name in self.spec.tags

    def is_time(self, node: _Node) -> bool:
        return node.kind == "col" and node.name.lower() == "time"

    def is_bin(self, node: _Node) -> bool:
        return node.kind == "func" and node.name == "bin"

    def bin_window(self, node: _Node) -> Duration:
        if len(node.args) != 2 or not self.is_time(node.args[0]) or node.args[1].kind != "dur":
            raise self.err("bin needs (time, <duration>) e.g. bin(time, 1h)", node, "bin")
        return Duration.parse(node.args[1].value)

    def unknown_column(self, node: _Node) -> SqlError:
        known = ["time", "measure_name", *self.spec.tags]
        known += ["measure_value::double"] if self.legacy else list(self.spec.field_names)
        return self.err(
            f"unknown column {node.name!r} in {self.spec.name}; columns: {', '.join(known)}",
            node,
            node.name,
        )

    # -- value expressions --
    def value_expr(self, node: _Node) -> Expr:
        if node.kind == "num":
            return Const(node.value)
        if node.kind == "neg":
            inner = self.value_expr(node.args[0])
            return Const(-inner.value) if isinstance(inner, Const) else BinOp("*", Const(-1), inner)
        if node.kind == "binop":
            return BinOp(node.name, self.value_expr(node.args[0]), self.value_expr(node.args[1]))
        if node.kind == "func":
            if node.name in _AGGS:
                if len(node.args) != 1:
                    raise self.err(f"{node.name} takes one argument", node)
                arg = node.args[0]
                if arg.kind == "star":
                    if node.name != "count":
                        raise self.err(f"{node.name}(*) is not valid", node)
                    return self._record_count(RECORDS)
                fname = self.field_of(arg)
                if fname is None:
                    if self.is_tag(arg) or self.is_time(arg):
                        if node.name == "count":
                            tag = arg.name if self.is_tag(arg) else ""
                            return self._record_count(RECORDS + tag)
                        raise self.err(f"{node.name} of a dimension is not supported", arg)
                    if arg.kind == "col":
                        raise self.unknown_column(arg)
                    raise self.err(
                        "unsupported construct: aggregate of an expression",
                        arg,
                        "aggregate of an expression",
                    )
                return Agg(_AGGS[node.name], fname)
            raise self._func_error(node)
        fname = self.field_of(node)
        if fname is not None:
            return FieldRef(fname)
        if node.kind == "col":
            if node.name in self.aliases:
                return self.value_expr(self.aliases[node.name])
            raise self.unknown_column(node)
        raise self.err(f"unsupported construct in an expression: {node.text()}", node)

    def _record_count(self, counted: str) -> Agg:
        """A count of records (``counted`` = RECORDS) or of a dimension's non-NULL values
        (RECORDS + its name): InfluxDB counts a field's values, exact only when every record
        has the field (a single-measure table) and the dimension is never missing."""
        self.counts_records = True
        if self.exact:
            return Agg(Aggregation.COUNT, counted)
        return Agg(Aggregation.COUNT, self.spec.field_names[0])

    def _func_error(self, node: _Node) -> SqlError:
        if node.name in _KNOWN_UNSUPPORTED_FUNCS:
            return self.err(f"unsupported function: {node.name}", node, node.name)
        if node.name in _TIME_FUNCS or node.name == "bin":
            return self.err(f"{node.name}() is not valid here", node, node.name)
        return self.err(f"unknown function: {node.name}", node, node.name)

    # -- time --
    def time_value(self, node: _Node) -> int:
        if node.kind == "func":
            name, args = node.name, node.args
            if name in ("now", "current_timestamp") and not args:
                return self.now_ns
            if name == "ago" and len(args) == 1 and args[0].kind == "dur":
                return self.now_ns - Duration.parse(args[0].value).ns
            if (
                name in ("from_iso8601_timestamp", "timestamp")
                and len(args) == 1
                and args[0].kind == "str"
            ):
                return self._parse_ts(args[0])
            if name == "from_milliseconds" and len(args) == 1 and args[0].kind == "num":
                return int(args[0].value) * 1_000_000
            if name == "from_nanoseconds" and len(args) == 1 and args[0].kind == "num":
                return int(args[0].value)
            if name == "from_unixtime" and len(args) == 1 and args[0].kind == "num":
                return int(args[0].value * NS_PER_SECOND)
            raise self.err(f"unsupported time expression: {node.text()}", node, node.name)
        if node.kind == "str":
            return self._parse_ts(node)
        if node.kind == "binop" and node.name in ("+", "-") and node.args[1].kind == "dur":
            base = self.time_value(node.args[0])
            delta = Duration.parse(node.args[1].value).ns
            return base + delta if node.name == "+" else base - delta
        raise self.err(f"unsupported time expression: {node.text()}", node, "time expression")

    def _parse_ts(self, node: _Node) -> int:
        try:
            return parse_time(
                str(node.value).replace(" ", "T", 1) if "T" not in node.value else node.value
            )
        except ModelError:
            raise self.err(f"not a timestamp: {node.value!r}", node, "timestamp") from None

    # -- WHERE --
    def where(self, node: _Node | None) -> tuple[TimeRange, list[TagFilter], list[ValueFilter]]:
        start: int | None = None
        end: int | None = None
        tags: dict[tuple[str, FilterOp], list[list[str]]] = {}
        values: list[ValueFilter] = []
        preds = self._conjuncts(node) if node is not None else []
        for pred in preds:
            if pred.kind == "or":
                tag, vals = self._or_equalities(pred)
                tags.setdefault((tag, FilterOp.EQ), []).append(vals)
                continue
            if pred.kind == "between":
                subject, low, high = pred.args
                if not self.is_time(subject):
                    raise self.err("BETWEEN is supported on time only", pred, "BETWEEN")
                lo, hi = self.time_value(low), self.time_value(high) + 1
                start = lo if start is None else max(start, lo)
                end = hi if end is None else min(end, hi)
                continue
            if pred.kind in ("in", "notin"):
                subject, *items = pred.args
                tag = self._tag_subject(subject, pred)
                vals = [self._string(v) for v in items]
                op = FilterOp.EQ if pred.kind == "in" else FilterOp.NE
                tags.setdefault((tag, op), []).append(vals)
                continue
            if pred.kind != "cmp":
                raise self.err(f"unsupported condition: {pred.text()}", pred)
            left, right = pred.args
            op = pred.name
            if self.is_time(right) and not self.is_time(left):
                left, right = right, left
                op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
            if self.is_time(left):
                value = self.time_value(right)
                bounds = {
                    ">=": (value, None),
                    ">": (value + 1, None),
                    "<": (None, value),
                    "<=": (None, value + 1),
                    "=": (value, value + 1),
                }
                if op not in bounds:
                    raise self.err(f"unsupported time comparison {op}", pred, op)
                lo, hi = bounds[op]
                if lo is not None:
                    start = lo if start is None else max(start, lo)
                if hi is not None:
                    end = hi if end is None else min(end, hi)
                continue
            if left.kind == "col" and left.name.lower() == "measure_name":
                if op != "=" or right.kind != "str":
                    raise self.err("measure_name supports = '<name>' only", pred, "measure_name")
                if right.value != self.spec.measure_name:
                    raise self.err(
                        f"{self.spec.name} has no measure_name {right.value!r} (its records have "
                        f"measure_name {self.spec.measure_name!r})",
                        right,
                        "measure_name",
                    )
                continue
            if self.is_tag(left) or (left.kind == "col" and self.field_of(left) is None):
                tag = self._tag_subject(left, pred)
                if op not in ("=", "<>", "!="):
                    raise self.err(
                        f"dimension comparison {op} is not supported (use =, <>, IN)", pred, op
                    )
                fop = FilterOp.EQ if op == "=" else FilterOp.NE
                tags.setdefault((tag, fop), []).append([self._string(right)])
                continue
            fname = self.field_of(left)
            if fname is not None and right.kind in ("num", "neg"):
                number = right.value if right.kind == "num" else -right.args[0].value
                values.append(ValueFilter(fname, "!=" if op == "<>" else op, float(number)))
                continue
            raise self.err(f"unsupported condition: {pred.text()}", pred)
        filters = []
        for (tag, op), groups in tags.items():
            if op is FilterOp.EQ:
                allowed = set.intersection(*(set(g) for g in groups))
                ordered = [v for v in groups[0] if v in allowed]
                if not ordered:
                    raise SqlError(
                        f"conditions on {tag} exclude every value",
                        self.sql,
                        node.pos if node else None,
                        tag,
                    )
                filters.append(TagFilter(tag, op, tuple(dict.fromkeys(ordered))))
            else:
                merged = [v for g in groups for v in g]
                if tag in self.spec.optional_tags:
                    # SQL: NULL <> 'x' is not true, so records without the dimension are left
                    # out; InfluxDB's "tag" != 'x' keeps the series that lack the tag ('')
                    merged.append("")
                filters.append(TagFilter(tag, op, tuple(dict.fromkeys(merged))))
        if start is not None and end is not None and end <= start:
            raise SqlError(
                "the time conditions select an empty range",
                self.sql,
                node.pos if node else None,
                "time",
            )
        return TimeRange(start, end), filters, values

    def _conjuncts(self, node: _Node) -> list[_Node]:
        if node.kind == "and":
            return self._conjuncts(node.args[0]) + self._conjuncts(node.args[1])
        return [node]

    def _or_equalities(self, node: _Node) -> tuple[str, list[str]]:
        terms: list[_Node] = []

        def flatten(n: _Node) -> None:
            if n.kind == "or":
                flatten(n.args[0])
                flatten(n.args[1])
            else:
                terms.append(n)

        flatten(node)
        tag: str | None = None
        vals: list[str] = []
        for term in terms:
            if term.kind == "cmp" and term.name == "=":
                subject, value = term.args
            elif term.kind == "in":
                subject, value = term.args[0], None
            else:
                raise self.err(
                    "unsupported construct: OR (only of equalities on one dimension)", node, "OR"
                )
            name = self._tag_subject(subject, term) if self.is_tag(subject) else None
            if name is None or (tag is not None and name != tag):
                raise self.err("unsupported construct: OR across different columns", node, "OR")
            tag = name
            if value is None:
                vals += [self._string(v) for v in term.args[1:]]
            else:
                vals.append(self._string(value))
        assert tag is not None
        return tag, vals

    def _tag_subject(self, node: _Node, pred: _Node) -> str:
        if self.is_tag(node):
            return node.name
        if node.kind == "col":
            raise self.unknown_column(node)
        raise self.err(f"unsupported condition on {node.text()}", pred)

    def _string(self, node: _Node) -> str:
        if node.kind != "str":
            raise self.err("dimension values are strings: quote them ('...')", node, node.text())
        if "\x00" in node.value or "\r" in node.value:
            raise self.err("dimension values cannot contain NUL or CR", node, "string")
        return str(node.value)

    # -- the whole query --
    def build(self) -> SqlTranslation:
        p = self.p
        items: list[tuple[_Node, str | None, int]] = p["items"]
        # aliases usable in GROUP BY / ORDER BY
        for node, alias, _ in items:
            if alias:
                self.aliases[alias] = node
        time_range, filters, value_filters = self.where(p["where"])
        # GROUP BY
        window: Duration | None = None
        group_tags: list[str] = []
        for g in p["group"]:
            g = self._resolve(g, items)
            if self.is_bin(g):
                window = self.bin_window(g)
            elif self.is_tag(g):
                group_tags.append(g.name)
            elif g.kind == "col" and g.name.lower() == "measure_name":
                continue
            elif self.is_time(g):
                raise self.err(
                    "GROUP BY time is not supported: use bin(time, <duration>)", g, "GROUP BY time"
                )
            elif g.kind == "col":
                raise self.unknown_column(g)
            else:
                raise self.err(f"unsupported GROUP BY expression: {g.text()}", g, "GROUP BY")
        # SELECT
        selections: list[Selection] = []
        records: list[Selection] = []
        output: list[str] = []
        constants: dict[str, str] = {}
        time_alias: str | None = None
        raw_tags: list[str] = []
        aggregated_select = any(self._has_agg(n) for n, _, _ in items)
        aggregated = aggregated_select or bool(p["group"])
        for index, (node, alias, _pos) in enumerate(items):
            if node.kind == "star":
                if aggregated:
                    raise self.err("SELECT * with aggregates is not valid", node, "*")
                time_alias = "time"
                output.append("time")
                raw_tags = list(self.spec.tags)
                output += raw_tags
                if self.legacy:
                    constants["measure_name"] = self.spec.measure_name
                    output.append("measure_name")
                    selections.append(Selection(FieldRef("value"), "measure_value::double"))
                    output.append("measure_value::double")
                else:
                    for fname in self.spec.field_names:
                        selections.append(Selection(FieldRef(fname), fname))
                        output.append(fname)
                continue
            if self.is_bin(node):
                w = self.bin_window(node)
                if window is None and not p["group"]:
                    raise self.err("bin(time, ...) in SELECT needs it in GROUP BY", node, "bin")
                if window != w:
                    raise self.err(
                        f"SELECT bin {w} differs from GROUP BY bin {window}", node, "bin"
                    )
                time_alias = alias or f"_col{index}"
                output.append(time_alias)
                continue
            if self.is_time(node):
                if aggregated:
                    raise self.err(
                        "time must be binned in an aggregate query: bin(time, 1h)", node, "time"
                    )
                time_alias = alias or "time"
                output.append(time_alias)
                continue
            if self.is_tag(node):
                if aggregated and node.name not in group_tags:
                    raise self.err(f"{node.name} must appear in GROUP BY", node, node.name)
                if alias and alias != node.name:
                    raise self.err("aliases of dimensions are not supported", node, "AS")
                if not aggregated:
                    raw_tags.append(node.name)
                output.append(node.name)
                continue
            if node.kind == "col" and node.name.lower() == "measure_name":
                name = alias or "measure_name"
                constants[name] = self.spec.measure_name
                output.append(name)
                continue
            expr = self.value_expr(node)
            if aggregated and any(isinstance(leaf, FieldRef) for leaf in _leaves(expr)):
                raise self.err(f"{node.text()} must be aggregated (or appear in GROUP BY)", node)
            name = alias or (node.text() if node.kind in ("col", "cast") else f"_col{index}")
            selections.append(Selection(expr, name))
            self.exact = True
            records.append(Selection(self.value_expr(node), name))
            self.exact = False
            output.append(name)
        if not selections:
            raise SqlError("the query selects no measure", self.sql, items[0][2], "SELECT")
        if window is not None and time_alias is None:
            time_alias = "_bin"
        order = self._order(p["order"], items, output, time_alias)
        tags = group_tags if aggregated else list(dict.fromkeys(raw_tags))
        if not aggregated and not self.legacy:
            # InfluxDB returns no row where every selected field is missing, SQL a row per
            # record (NULL where a measure is): every measure is read, the others unshown
            named = {
                leaf.name
                for sel in selections
                for leaf in _leaves(sel.expr)
                if isinstance(leaf, FieldRef)
            }
            taken = {sel.alias for sel in selections}
            selections += [
                Selection(FieldRef(f), f"_all_{f}")
                for f in self.spec.field_names
                if f not in named and f"_all_{f}" not in taken
            ]
        try:
            model = QueryModel(
                table=self.spec.name,
                selections=tuple(selections),
                time_range=time_range,
                tag_filters=tuple(filters),
                value_filters=tuple(value_filters),
                window=window,
                group_tags=tuple(tags),
                order_by=tuple(order),
                limit=p["limit"],
                time_alias=time_alias or "time",
                output_columns=tuple(c for c in output if c not in constants),
                window_start_times=True,  # bin(time, …) is the bucket's start
            )
        except ModelError as exc:
            raise SqlError(str(exc), self.sql, items[0][2], "query") from None
        counted = {
            leaf.field
            for sel in records
            for leaf in _leaves(sel.expr)
            if isinstance(leaf, Agg) and leaf.field.startswith(RECORDS)
        }
        # a single-measure table's records each have its field: count() of it counts them
        inexact = len(self.spec.field_names) > 1 or counted - {RECORDS}
        exact = tuple(records) if self.counts_records and inexact else None
        return SqlTranslation(self.sql, model, constants, tuple(output), exact)

    def _resolve(self, node: _Node, items: list[tuple[_Node, str | None, int]]) -> _Node:
        if node.kind == "num" and float(node.value).is_integer():
            index = int(node.value)
            if not 1 <= index <= len(items):
                raise self.err(f"position {index} is not in the select list", node)
            return items[index - 1][0]
        if node.kind == "col" and node.name in self.aliases and not self.is_tag(node):
            return self.aliases[node.name]
        return node

    def _has_agg(self, node: _Node) -> bool:
        if node.kind == "func" and node.name in _AGGS:
            return True
        return any(self._has_agg(a) for a in node.args)

    def _order(
        self,
        order: list[tuple[_Node, bool]],
        items: list[tuple[_Node, str | None, int]],
        output: list[str],
        time_alias: str | None,
    ) -> list[OrderKey]:
        keys = []
        for node, desc in order:
            target: str | None = None
            if node.kind == "num" and float(node.value).is_integer():
                index = int(node.value)
                if not 1 <= index <= len(output):
                    raise self.err(f"ORDER BY position {index} is not in the select list", node)
                target = output[index - 1]
            elif node.kind == "col" and node.name in output:
                target = node.name
            elif self.is_time(node) or self.is_bin(node):
                target = time_alias
            else:
                for (item, alias, _), name in zip(items, output, strict=False):
                    if item.text() == node.text():
                        target = alias or name
                        break
            if target is None:
                raise self.err(f"ORDER BY {node.text()} is not a selected column", node, "ORDER BY")
            keys.append(OrderKey(target, desc))
        return keys


def _leaves(expr: Expr) -> list[Expr]:
    if isinstance(expr, BinOp):
        return _leaves(expr.left) + _leaves(expr.right)
    return [expr]


def parse_sql(sql: str, now: datetime | None = None) -> SqlTranslation:
    """Parse one Timestream SELECT into the query model (``now`` anchors ``ago()``/``now()``)."""
    if len(sql) > 100_000:
        raise SqlError("query too long")
    moment = now or datetime.now(UTC)
    parsed = _Parser(sql).query()
    return _Semantics(sql, parsed, moment).build()


def execute_sql(
    sql: str | SqlTranslation,
    client: QueryRunner | str,
    database: str | None = None,
    now: datetime | None = None,
    retention_policy: str | None = None,
    *,
    rollups: Mapping[str, RollupTable] | None = None,
) -> QueryResult:
    """Parse (if needed) and run a Timestream SELECT on InfluxDB; columns in the SELECT's order,
    constant columns (``measure_name``) included. As in SQL, aggregates without ``GROUP BY``
    give one row even when nothing matches (``count`` 0, the others ``NULL``)."""
    translation = sql if isinstance(sql, SqlTranslation) else parse_sql(sql, now)
    if translation.records is not None:
        result = _over_records(translation, client, database, retention_policy)
    elif _divides(translation.model):
        result = _over_leaves(translation.model, client, database, retention_policy, rollups)
    else:
        result = execute(translation.model, client, database, retention_policy, rollups=rollups)
    if not result.rows and _one_row_always(translation.model):
        result = replace(result, rows=[_nothing_matched(result)])
    if not translation.constants:
        return result
    by_name = {c.name: i for i, c in enumerate(result.columns)}
    columns, picks = [], []
    for name in translation.columns:
        if name in translation.constants:
            columns.append(Column(name, "tag"))
            picks.append(None)
        else:
            columns.append(result.columns[by_name[name]])
            picks.append(by_name[name])
    rows = [
        tuple(
            translation.constants[n] if i is None else row[i]
            for n, i in zip(translation.columns, picks, strict=True)
        )
        for row in result.rows
    ]
    return replace(result, columns=tuple(columns), rows=rows)  # which measurement answered, kept


def _one_row_always(model: QueryModel) -> bool:
    """An aggregate over the whole range, without groups: SQL answers it with one row."""
    return (
        model.aggregated
        and model.window is None
        and not model.group_tags
        and not model.periods
        and model.top is None
        and model.limit != 0
    )


def _nothing_matched(result: QueryResult) -> tuple[Any, ...]:
    """The row of aggregates over no record: counts 0, every other aggregate NULL."""
    leaves: dict[str, float | None] = {}
    for sel in result.model.selections:
        for leaf in _leaves(sel.expr):
            if isinstance(leaf, Agg):
                leaves[str(leaf)] = 0.0 if leaf.func is Aggregation.COUNT else None
    exprs = {sel.alias: sel.expr for sel in result.model.selections}
    row: list[Any] = []
    for column in result.columns:
        value = evaluate(exprs[column.name], leaves) if column.name in exprs else None
        row.append(int(value) if value is not None and value.is_integer() else value)
    return tuple(row)


def _over_records(
    translation: SqlTranslation,
    client: QueryRunner | str,
    database: str | None,
    retention_policy: str | None,
) -> QueryResult:
    """The aggregates computed from the matching records themselves, for a query that counts
    records (``count(*)`` on a multi-measure table, where a record may lack any one measure) or
    a dimension's non-NULL values: InfluxQL's ``count()`` counts one field's values."""
    model = translation.model
    assert translation.records is not None
    spec = model.spec
    raw = replace(
        model,
        selections=tuple(Selection(FieldRef(f), f) for f in spec.field_names),
        window=None,
        group_tags=spec.tags,  # every dimension: records stay apart
        order_by=(),
        limit=None,
        time_alias="time",
        output_columns=None,
        window_start_times=False,
    )
    scanned = execute(raw, client, database, retention_policy)
    at = {c.name: i for i, c in enumerate(scanned.columns)}
    step = model.window.ns if model.window is not None else None
    start = model.time_range.start if model.time_range.start is not None else 0
    groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for row in scanned.rows:
        bucket = (int(row[0]) // step) * step if step else start
        groups.setdefault((bucket, *(row[at[t]] for t in model.group_tags)), []).append(row)
    rows = []
    for key, records in groups.items():
        values = {
            str(leaf): _leaf_value(leaf, records, at)
            for sel in translation.records
            for leaf in _leaves(sel.expr)
            if isinstance(leaf, Agg)
        }
        rows.append((*key, *(_sql_value(sel, values) for sel in translation.records)))
    reason = "count(*) counts records: the aggregates computed from them"
    source = AnswerSource.raw(model, reason, retention_policy)
    return QueryResult(
        model,
        result_columns(model),
        arrange(model, rows),
        scanned.influxql,
        scanned.elapsed_ms,
        source,
    )


def _leaf_value(leaf: Agg, records: list[tuple[Any, ...]], at: Mapping[str, int]) -> float | None:
    """One aggregate over a group's records (columns by name in ``at``)."""
    if leaf.field == RECORDS:
        return float(len(records))
    if leaf.field.startswith(RECORDS):
        column = at[leaf.field[len(RECORDS) :]]
        return float(sum(1 for r in records if r[column] not in (None, "")))
    values = [float(r[at[leaf.field]]) for r in records if r[at[leaf.field]] is not None]
    if leaf.func is Aggregation.COUNT:
        return float(len(values))
    if not values:
        return None
    if leaf.func is Aggregation.SUM:
        return math.fsum(values)
    if leaf.func is Aggregation.MEAN:
        return math.fsum(values) / len(values)
    if leaf.func is Aggregation.MIN:
        return min(values)
    if leaf.func is Aggregation.MAX:
        return max(values)
    if leaf.func is Aggregation.STDDEV:
        return statistics.stdev(values) if len(values) > 1 else None
    raise SqlError(f"{leaf.func} is not computed over records")


def _divides(model: QueryModel) -> bool:
    """Whether a selection divides by an aggregate (InfluxQL's ``x / 0`` is 0, SQL's NULL)."""

    def has(expr: Expr) -> bool:
        if not isinstance(expr, BinOp):
            return False
        if expr.op == "/" and not isinstance(expr.right, Const):
            return True
        return has(expr.left) or has(expr.right)

    return model.aggregated and any(has(sel.expr) for sel in model.selections)


def _over_leaves(
    model: QueryModel,
    client: QueryRunner | str,
    database: str | None,
    retention_policy: str | None,
    rollups: Mapping[str, RollupTable] | None,
) -> QueryResult:
    """Each aggregate read on its own, the arithmetic over them done here: a division by zero
    is NULL, as in SQL (InfluxQL's own arithmetic gives 0, a wrong number that looks right)."""
    found: list[Agg] = []
    for sel in model.selections:
        for leaf in _leaves(sel.expr):
            if isinstance(leaf, Agg) and leaf not in found:
                found.append(leaf)
    parts = replace(
        model,
        selections=tuple(Selection(leaf, f"_leaf{i}") for i, leaf in enumerate(found)),
        order_by=(),
        limit=None,
        output_columns=None,
    )
    result = execute(parts, client, database, retention_policy, rollups=rollups)
    width = 1 + len(parts.result_tags())
    rows = []
    for row in result.rows:
        values = {str(leaf): row[width + i] for i, leaf in enumerate(found)}
        rows.append((*row[:width], *(_sql_value(sel, values) for sel in model.selections)))
    return replace(result, model=model, columns=result_columns(model), rows=arrange(model, rows))


def _sql_value(sel: Selection, leaves: Mapping[str, Any]) -> Any:
    """A selection's value from its aggregates' values, as SQL gives it: a division by zero is
    NULL, a count an integer."""
    value = evaluate(sel.expr, leaves, by_zero=None)
    counts = isinstance(sel.expr, Agg) and sel.expr.func is Aggregation.COUNT
    return int(value) if counts and value is not None else value

"""The ``search_runs`` filter language: a tokenizer and a recursive-descent parser.

A filter such as ``metrics.rmse < 0.8 and params.alpha = '0.5' or tags.stage LIKE 'dev%'``
compiles to a SQL boolean expression over the runs table aliased ``r``. Only fixed SQL text
from this module reaches the query; every key and every literal is a bound ``?`` parameter.

Grammar (keywords and field prefixes are case-insensitive)::

    filter     := or_expr EOF
    or_expr    := and_expr (OR and_expr)*
    and_expr   := not_expr (AND not_expr)*
    not_expr   := NOT* primary
    primary    := '(' or_expr ')' | comparison
    comparison := field op value                   op: = == != <> < <= > >=
                | field [NOT] (LIKE | ILIKE) string
                | field [NOT] IN '(' value (',' value)* ')'
                | field IS [NOT] NULL
    field      := (metrics|params|tags) '.' key | [attributes '.'] attribute
    key        := bare key (letters, digits, _ - . / :) | `quoted key` | "quoted key"

Semantics are two-valued: a comparison on a missing key (or a NaN metric, stored as NULL)
is false, so ``NOT params.x = '1'`` holds for a run without param ``x``; ``IS NULL`` is
true when the key is missing. ``LIKE`` is case-sensitive (compiled to SQLite ``GLOB``),
``ILIKE`` is case-insensitive for ASCII letters (SQLite ``LIKE``); in both, ``%`` matches
any run of characters, ``_`` one character, and ``\\%``, ``\\_``, ``\\\\`` match themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import ascii_letters, digits
from typing import Any

from .._limits import KEY_CHARACTERS, MAX_KEY_LENGTH
from ..errors import FilterError

__all__ = ["OrderKey", "compile_filter", "compile_order_by", "order_keys"]

MAX_FILTER_LENGTH = 10_000
MAX_NESTING = 50
MAX_COMPARISONS = 100
MAX_IN_ITEMS = 1000  # per IN list, and literals in the whole filter (bound-parameter budget)
MAX_STRING_LENGTH = 1000
MAX_LIKE_PATTERN_LENGTH = 200
MAX_LIKE_WILDCARDS = 20
MAX_ORDER_BY_FIELDS = 20

_METRIC_SQL = "(SELECT s.last_value FROM series s WHERE s.run_id = r.id AND s.key = ?)"
_PARAM_TEXT_SQL = "(SELECT p.value FROM params p WHERE p.run_id = r.id AND p.key = ?)"
_PARAM_NUM_SQL = "(SELECT p.num FROM params p WHERE p.run_id = r.id AND p.key = ?)"
# Ordering: numeric params by value first (SQLite sorts numbers before text), then text ones.
_PARAM_SORT_SQL = (
    "(SELECT COALESCE(p.num, p.value) FROM params p WHERE p.run_id = r.id AND p.key = ?)"
)
_TAG_SQL = "(SELECT t.value FROM tags t WHERE t.run_id = r.id AND t.key = ?)"

# attribute name -> (SQL expression, is numeric)
_ATTRIBUTES: dict[str, tuple[str, bool]] = {
    "run_id": ("r.id", False),
    "name": ("r.name", False),
    "status": ("r.status", False),
    "start_time": ("r.start_time", True),
    "end_time": ("r.end_time", True),
    "duration": ("(r.end_time - r.start_time) / 1000.0", True),
    "experiment": ("(SELECT e.name FROM experiments e WHERE e.id = r.experiment_id)", False),
    "parent_id": ("r.parent_id", False),
    "notebook": ("r.notebook", False),
    "cell_id": ("r.cell_id", False),
}
_ATTRIBUTE_ALIASES = {"id": "run_id", "run_name": "name"}

# prefix as written (lower-cased) -> field kind
_PREFIXES = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
}
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "IS", "NULL", "ASC", "DESC"})
_COMPARE_OPS = {
    "=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
}  # fmt: skip
_SPACE = " \t\r\n\f\v"
_DIGITS = digits
_WORD_START = ascii_letters + "_"
_WORD_CHARS = _WORD_START + _DIGITS
_BARE_KEY_CHARS = frozenset(_WORD_CHARS + "-./:")
_KEY_CHARS = frozenset(_WORD_CHARS + "-./: ")


def _prefix_list() -> str:
    return ", ".join(f"{p}." for p in _PREFIXES if p.endswith("s"))


def _attribute_list() -> str:
    return ", ".join(list(_ATTRIBUTES) + list(_ATTRIBUTE_ALIASES))


# -- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    kind: str  # metric, param, tag or attribute
    key: str  # for attributes: the canonical attribute name
    pos: int


@dataclass(frozen=True)
class _Token:
    kind: str  # field, word, keyword, string, number, op, "(", ")", ",", end
    value: Any  # a _Field, a str or a number, as ``kind`` says
    pos: int
    end: int


class _Lexer:
    """Reads tokens on demand, so the first error in reading order is the one reported."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self._peeked: _Token | None = None

    def error(self, message: str, pos: int) -> FilterError:
        return FilterError(message, self.text, pos)

    def peek(self) -> _Token:
        if self._peeked is None:
            self._peeked = self._read()
        return self._peeked

    def next(self) -> _Token:
        token = self.peek()
        self._peeked = None
        return token

    def _read(self) -> _Token:
        while self.i < len(self.text) and self.text[self.i] in _SPACE:
            self.i += 1
        start = self.i
        kind, value = self._read_kind_value()
        return _Token(kind, value, start, self.i)

    def _read_kind_value(self) -> tuple[str, object]:
        text, n, start = self.text, len(self.text), self.i
        if start >= n:
            return "end", None
        c = text[start]
        if c in "(),":
            self.i += 1
            return c, c
        if c in "=!<>":
            two = text[start : start + 2]
            if len(two) == 2 and two in _COMPARE_OPS:
                self.i += 2
                return "op", _COMPARE_OPS[two]
            if c in _COMPARE_OPS:
                self.i += 1
                return "op", _COMPARE_OPS[c]
            raise self.error("Unexpected '!'; write != for 'not equal'", start)
        if c in "'\"":
            return "string", self._quoted(c, "string")
        if c in _DIGITS or (c in "-." and start + 1 < n and text[start + 1] in _DIGITS + "."):
            return "number", self._number()
        if c in _WORD_START:
            return self._word()
        hint = ""
        if c == ";":
            hint = "; a filter is one expression, combine conditions with AND / OR"
        elif c == "-":
            hint = "; a minus sign must be followed by a number"
        elif c in "\u2018\u2019\u201c\u201d":
            hint = "; use straight quotes ' or \""
        elif c == "`":
            hint = "; backticks quote a key after a prefix, as in metrics.`val loss`"
        raise self.error(f"Unexpected character {c!r}{hint}", start)

    def _quoted(self, quote: str, what: str) -> str:
        """A quoted string or key; a backslash escapes the quote or a backslash.

        Other backslashes are kept, so LIKE patterns such as ``'a\\_b'`` keep their escape.
        """
        text, start = self.text, self.i
        i = start + 1
        out: list[str] = []
        limit = MAX_STRING_LENGTH if what == "string" else MAX_KEY_LENGTH
        while True:
            if i >= len(text):
                raise self.error(f"Unterminated {what}: add the closing {quote}", start)
            c = text[i]
            if c == quote:
                break
            if c == "\\" and quote != "`" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
                c = text[i + 1]
                i += 1
            out.append(c)
            if len(out) > limit:
                raise self.error(
                    f"This {what} is longer than the limit of {limit} characters", start
                )
            i += 1
        self.i = i + 1
        return "".join(out)

    def _number(self) -> int | float:
        text, start, n = self.text, self.i, len(self.text)
        i = start + 1 if text[start] == "-" else start
        digits_start = i
        while i < n and text[i] in _DIGITS:
            i += 1
        is_float = False
        if i < n and text[i] == ".":
            is_float = True
            i += 1
            while i < n and text[i] in _DIGITS:
                i += 1
        if i == digits_start or text[digits_start:i] == ".":
            raise self.error("Malformed number", start)
        if i < n and text[i] in "eE":
            is_float = True
            i += 1
            if i < n and text[i] in "+-":
                i += 1
            exp_start = i
            while i < n and text[i] in _DIGITS:
                i += 1
            if i == exp_start:
                raise self.error("Malformed number: the exponent has no digits", start)
        if i < n and (text[i] in _WORD_CHARS or text[i] == "."):
            raise self.error(
                "Malformed number; quote text values ('...') and separate words by spaces",
                start,
            )
        self.i = i
        literal = text[start:i]
        if is_float or len(literal) > 18:  # past 18 digits an int may not fit SQLite's int64
            return float(literal)
        return int(literal)

    def _word(self) -> tuple[str, object]:
        text, start, n = self.text, self.i, len(self.text)
        i = start
        while i < n and text[i] in _WORD_CHARS:
            i += 1
        word = text[start:i]
        self.i = i
        if i < n and text[i] == ".":
            kind = _PREFIXES.get(word.lower())
            if kind is None:
                raise self.error(
                    f"Unknown field prefix {word!r}; fields are {_prefix_list()} "
                    "or a run attribute",
                    start,
                )
            self.i = i + 1
            key = self._key(word)
            if kind == "attribute":
                return "field", self.attribute(key, start)
            return "field", _Field(kind, key, start)
        if word.upper() in _KEYWORDS:
            return "keyword", word.upper()
        return "word", word  # an attribute name if a field is expected here

    def _key(self, prefix: str) -> str:
        text, n = self.text, len(self.text)
        key_start = self.i
        if key_start < n and text[key_start] in '`"':
            key = self._quoted(text[key_start], "key")
        else:
            i = key_start
            while i < n and text[i] in _BARE_KEY_CHARS:
                i += 1
            key = text[key_start:i]
            self.i = i
        if not key:
            raise self.error(
                f"Expected a key after '{prefix}.'; quote keys with spaces: {prefix}.`my key`",
                key_start,
            )
        if len(key) > MAX_KEY_LENGTH:
            raise self.error(f"Keys are at most {MAX_KEY_LENGTH} characters", key_start)
        if not set(key) <= _KEY_CHARS:
            raise self.error(f"Keys contain only {KEY_CHARACTERS}", key_start)
        return key

    def attribute(self, word: str, pos: int) -> _Field:
        """The attribute field a bare word names, or a FilterError."""
        name = word.lower()
        name = _ATTRIBUTE_ALIASES.get(name, name)
        if name not in _ATTRIBUTES:
            raise self.error(
                f"Unknown field {word!r}; use metrics.<key>, params.<key>, tags.<key> "
                f"or one of the run attributes {_attribute_list()}",
                pos,
            )
        return _Field("attribute", name, pos)


# -- the parser -----------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.lexer = _Lexer(text)
        self.args: list = []
        self.depth = 0
        self.comparisons = 0
        self.literals = 0

    def error(self, message: str, pos: int) -> FilterError:
        return self.lexer.error(message, pos)

    def expected(self, what: str, token: _Token) -> FilterError:
        shown = self.lexer.text[token.pos : token.end][:40]
        found = "the end of the filter" if token.kind == "end" else repr(shown)
        return self.error(f"Expected {what}, found {found}", token.pos)

    def is_keyword(self, token: _Token, *words: str) -> bool:
        return token.kind == "keyword" and token.value in words

    def parse(self) -> str:
        sql = self.or_expr()
        token = self.lexer.peek()
        if token.kind == ")":
            raise self.error("Unbalanced ')': no '(' opens it", token.pos)
        if token.kind != "end":
            raise self.expected("AND, OR or the end of the filter", token)
        return sql

    def or_expr(self) -> str:
        parts = [self.and_expr()]
        while self.is_keyword(self.lexer.peek(), "OR"):
            self.lexer.next()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def and_expr(self) -> str:
        parts = [self.not_expr()]
        while self.is_keyword(self.lexer.peek(), "AND"):
            self.lexer.next()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def not_expr(self) -> str:
        negations = 0  # a loop, not recursion: NOT NOT NOT ... cannot exhaust the stack
        while self.is_keyword(self.lexer.peek(), "NOT"):
            self.lexer.next()
            negations += 1
        sql = self.primary()
        return f"(NOT {sql})" if negations % 2 else sql

    def primary(self) -> str:
        token = self.lexer.next()
        if token.kind == "(":
            if self.depth >= MAX_NESTING:
                raise self.error(
                    f"Parentheses nest deeper than the limit of {MAX_NESTING} levels", token.pos
                )
            self.depth += 1
            sql = self.or_expr()
            self.depth -= 1
            close = self.lexer.next()
            if close.kind == "end":
                raise self.error("This '(' is never closed: add a ')'", token.pos)
            if close.kind != ")":
                raise self.expected("AND, OR or ')'", close)
            return sql
        if token.kind == "field":
            return self.comparison(token.value)
        if token.kind == "word":
            return self.comparison(self.lexer.attribute(token.value, token.pos))
        if token.kind == "string":
            raise self.error(
                "Expected a field before the value, as in tags.stage = 'dev'", token.pos
            )
        raise self.expected("a field such as metrics.rmse, params.alpha or status", token)

    # -- comparisons --------------------------------------------------------------------

    def comparison(self, field: _Field) -> str:
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise self.error(
                f"More comparisons than the limit of {MAX_COMPARISONS}; "
                "use IN (...) for lists of values",
                field.pos,
            )
        token = self.lexer.next()
        if token.kind == "op":
            value = self.literal()
            expr = self.field_sql(field, value)
            self.args.append(value.value)
            return f"COALESCE(({expr} {token.value} ?), 0)"
        if self.is_keyword(token, "IS"):
            negated = self.is_keyword(self.lexer.peek(), "NOT")
            if negated:
                self.lexer.next()
            null = self.lexer.next()
            if not self.is_keyword(null, "NULL"):
                raise self.expected("NULL after IS" + (" NOT" if negated else ""), null)
            expr = self.field_sql(field, None)
            return f"({expr} IS {'NOT ' if negated else ''}NULL)"
        negated = self.is_keyword(token, "NOT")
        if negated:
            token = self.lexer.next()
        not_ = "NOT " if negated else ""
        if self.is_keyword(token, "LIKE", "ILIKE"):
            return self.like(field, token.value == "ILIKE", not_)
        if self.is_keyword(token, "IN"):
            return self.in_list(field, not_)
        if negated:
            raise self.expected("LIKE, ILIKE or IN after NOT", token)
        raise self.expected(
            "a comparison (= != < <= > >= LIKE ILIKE IN IS NULL) after the field", token
        )

    def literal(self) -> _Token:
        token = self.lexer.next()
        if token.kind in ("string", "number"):
            self.literals += 1
            if self.literals > MAX_IN_ITEMS:
                raise self.error(
                    f"More values than the limit of {MAX_IN_ITEMS} in one filter", token.pos
                )
            return token
        if self.is_keyword(token, "NULL"):
            raise self.error("Compare with NULL using IS NULL or IS NOT NULL", token.pos)
        if token.kind in ("field", "word"):
            raise self.error(
                "Expected a value; quote text values, as in tags.stage = 'dev'", token.pos
            )
        raise self.expected("a value (a 'quoted string' or a number)", token)

    def like(self, field: _Field, insensitive: bool, not_: str) -> str:
        token = self.lexer.next()
        if token.kind != "string":
            raise self.expected("a quoted pattern after LIKE", token)
        pattern = token.value
        if len(pattern) > MAX_LIKE_PATTERN_LENGTH:
            raise self.error(
                f"LIKE patterns are at most {MAX_LIKE_PATTERN_LENGTH} characters", token.pos
            )
        parts = _like_parts(pattern)
        if sum(part in ("%", "_") for part in parts) > MAX_LIKE_WILDCARDS:
            raise self.error(
                f"LIKE patterns have at most {MAX_LIKE_WILDCARDS} wildcards (% and _)",
                token.pos,
            )
        expr = self.field_sql(field, token)
        if insensitive:
            self.args.append(_sql_like_pattern(parts))
            return f"COALESCE(({expr} {not_}LIKE ? ESCAPE '\\'), 0)"
        self.args.append(_glob_pattern(parts))
        return f"COALESCE(({expr} {not_}GLOB ?), 0)"

    def in_list(self, field: _Field, not_: str) -> str:
        open_ = self.lexer.next()
        if open_.kind != "(":
            raise self.expected("'(' after IN, as in status IN ('FAILED', 'KILLED')", open_)
        values: list[_Token] = []
        while True:
            if self.lexer.peek().kind == ")" and not values:
                raise self.error("An IN list needs at least one value", self.lexer.peek().pos)
            value = self.literal()
            if len(values) >= MAX_IN_ITEMS:
                raise self.error(f"IN lists have at most {MAX_IN_ITEMS} values", value.pos)
            if values and value.kind != values[0].kind:
                raise self.error(
                    "Mix of numbers and strings in one IN list; use one kind", value.pos
                )
            values.append(value)
            token = self.lexer.next()
            if token.kind == ")":
                break
            if token.kind == "end":
                raise self.error("This '(' is never closed: add a ')'", open_.pos)
            if token.kind != ",":
                raise self.expected("',' or ')' in the IN list", token)
        expr = self.field_sql(field, values[0])
        self.args.extend(v.value for v in values)
        marks = ", ".join("?" * len(values))
        return f"COALESCE(({expr} {not_}IN ({marks})), 0)"

    def field_sql(self, field: _Field, value: _Token | None) -> str:
        """The field's SQL expression (binding its key), checked against the literal's type.

        ``value`` is the literal compared with (its kind picks text or number for params),
        or None for IS NULL. A LIKE pattern comes as a string literal.
        """
        sql, args = self._field_expr(field, value)
        self.args.extend(args)
        return sql

    def _field_expr(self, field: _Field, value: _Token | None) -> tuple[str, list]:
        is_number = value is not None and value.kind == "number"
        is_string = value is not None and value.kind == "string"
        pos = value.pos if value is not None else 0
        shown = value.value if value is not None else None
        if field.kind == "metric":
            if is_string:
                raise self.error("Metrics are numbers; compare with a number", pos)
            return _METRIC_SQL, [field.key]
        if field.kind == "param":
            return _PARAM_NUM_SQL if is_number else _PARAM_TEXT_SQL, [field.key]
        if field.kind == "tag":
            if is_number:
                raise self.error(f"Tags are text; quote the value: '{shown}'", pos)
            return _TAG_SQL, [field.key]
        sql, numeric = _ATTRIBUTES[field.key]
        if numeric and is_string:
            unit = "seconds" if field.key == "duration" else "milliseconds since the epoch"
            raise self.error(f"{field.key} is a number ({unit}); compare with a number", pos)
        if not numeric and is_number:
            raise self.error(f"{field.key} is text; quote the value: '{shown}'", pos)
        return sql, []


# -- LIKE patterns --------------------------------------------------------------------------


def _like_parts(pattern: str) -> list[str]:
    """Split a LIKE pattern into wildcards ('%', '_') and literal characters ('\\x' + char)."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_\\":
            parts.append("\\" + pattern[i + 1])
            i += 2
            continue
        parts.append(c if c in "%_" else "\\" + c)
        i += 1
    return parts


def _glob_pattern(parts: list[str]) -> str:
    """The case-sensitive GLOB equivalent: * and ? for the wildcards, [c] for special chars."""
    out = []
    for part in parts:
        if part == "%":
            out.append("*")
        elif part == "_":
            out.append("?")
        else:
            c = part[1]
            out.append(f"[{c}]" if c in "*?[" else c)
    return "".join(out)


def _sql_like_pattern(parts: list[str]) -> str:
    """The pattern for ``LIKE ? ESCAPE '\\'``: literal %, _ and \\ escaped with a backslash."""
    out = []
    for part in parts:
        if part in ("%", "_"):
            out.append(part)
        else:
            c = part[1]
            out.append("\\" + c if c in "%_\\" else c)
    return "".join(out)


# -- the public functions -------------------------------------------------------------------


def _check_length(text: str) -> None:
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError(
            f"The filter is longer than the limit of {MAX_FILTER_LENGTH} characters",
            text,
            MAX_FILTER_LENGTH,
        )


def compile_filter(text: str | None) -> tuple[str, list]:
    """SQL boolean expression (over alias r) and its bound args; ("1", []) for None/empty.

    Raises ``FilterError`` (a ``ValueError``) whose ``position`` is the 0-based offset of
    the offending character of ``text``.
    """
    if text is None:
        return "1", []
    if not isinstance(text, str):
        raise FilterError(f"A filter is a string, got {type(text).__name__}", "", 0)
    _check_length(text)
    if not text.strip(_SPACE):
        return "1", []
    parser = _Parser(text)
    sql = parser.parse()
    return sql, parser.args


def _order_item(full: str, start: int) -> tuple[_Field, str, int]:
    """Parse ``<field> [ASC|DESC]`` items from ``full`` at ``start``; the next offset."""
    lexer = _Lexer(full)
    lexer.i = start
    token = lexer.next()
    if token.kind == "word":
        token = _Token("field", lexer.attribute(token.value, token.pos), token.pos, token.end)
    if token.kind != "field":
        found = "nothing" if token.kind == "end" else repr(full[token.pos : token.pos + 20])
        raise FilterError(
            f"Expected a field to order by, such as metrics.rmse or start_time; found {found}",
            full,
            token.pos,
        )
    field = token.value
    direction = "ASC"
    token = lexer.peek()
    if token.kind == "keyword" and token.value in ("ASC", "DESC"):
        direction = token.value
        lexer.next()
        token = lexer.peek()
    if token.kind not in ("end", ","):
        raise FilterError(
            "Expected ASC, DESC, ',' or the end after the field; order_by takes only "
            "fields, as in 'metrics.rmse ASC'",
            full,
            token.pos,
        )
    lexer.next()
    return field, direction, token.pos + 1 if token.kind == "," else -1


def _order_sql(field: _Field) -> tuple[str, list]:
    if field.kind == "metric":
        return _METRIC_SQL, [field.key]
    if field.kind == "param":
        return _PARAM_SORT_SQL, [field.key]
    if field.kind == "tag":
        return _TAG_SQL, [field.key]
    return _ATTRIBUTES[field.key][0], []


@dataclass(frozen=True)
class OrderKey:
    """One field of an ``order_by``: what it names, its SQL expression over the runs table
    ``r`` with that expression's bound args, and its direction (missing values last)."""

    kind: str  # metric, param, tag or attribute
    key: str  # for attributes: the canonical attribute name
    sql: str
    args: tuple[Any, ...]
    descending: bool


def order_keys(order_by: str | list[str] | None) -> list[OrderKey]:
    """The fields of ``order_by`` (a list, or a comma-separated string, of ``<field>
    [ASC|DESC]``); ``start_time DESC`` when it names none. Raises ``FilterError``."""
    if not order_by:
        return [OrderKey("attribute", "start_time", "r.start_time", (), True)]
    if isinstance(order_by, str):
        texts = [order_by]
    elif isinstance(order_by, (list, tuple)) and all(isinstance(t, str) for t in order_by):
        texts = list(order_by)
    else:
        raise FilterError(
            "order_by is a string or a list of strings such as ['metrics.rmse ASC']",
            repr(order_by)[:200],
            0,
        )
    keys: list[OrderKey] = []
    for text in texts:
        _check_length(text)
        start = 0
        while start >= 0:
            field, direction, start = _order_item(text, start)
            sql, args = _order_sql(field)
            keys.append(OrderKey(field.kind, field.key, sql, tuple(args), direction == "DESC"))
            if len(keys) > MAX_ORDER_BY_FIELDS:
                raise FilterError(
                    f"More order_by fields than the limit of {MAX_ORDER_BY_FIELDS}",
                    text,
                    field.pos,
                )
    return keys


def compile_order_by(order_by: str | list[str] | None) -> tuple[str, list]:
    """SQL ORDER BY clause body (without the keywords) and args; default 'r.start_time DESC'.

    ``order_by`` is a list (or a comma-separated string) of ``<field> [ASC|DESC]``. Runs
    missing the field come last either way; creation order (``r.rowid``, in the direction of
    the first field) breaks ties, so runs started in the same millisecond keep their order.
    """
    if not order_by:
        return "r.start_time DESC, r.rowid DESC", []
    keys = order_keys(order_by)
    clauses: list[str] = []
    args: list = []
    for k in keys:
        clauses.append(f"{k.sql} IS NULL, {k.sql} {'DESC' if k.descending else 'ASC'}")
        args.extend(k.args + k.args)
    clauses.append(f"r.rowid {'DESC' if keys[0].descending else 'ASC'}")
    return ", ".join(clauses), args

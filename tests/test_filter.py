"""The search filter language: compiled SQL checked against a Python oracle over fixture runs.

Self-contained: an in-memory SQLite database with the store's columns, no tracking API.
"""

from __future__ import annotations

import math
import operator
import random
import re
import sqlite3
import time

import pytest

from jupyter_tracker.errors import FilterError
from jupyter_tracker.store._filter import (
    MAX_COMPARISONS,
    MAX_FILTER_LENGTH,
    MAX_IN_ITEMS,
    MAX_LIKE_PATTERN_LENGTH,
    MAX_LIKE_WILDCARDS,
    MAX_NESTING,
    MAX_ORDER_BY_FIELDS,
    MAX_STRING_LENGTH,
    compile_filter,
    compile_order_by,
)

SCHEMA = """
CREATE TABLE experiments (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL);
CREATE TABLE runs (id TEXT PRIMARY KEY, experiment_id INTEGER NOT NULL, name TEXT,
    status TEXT NOT NULL, start_time INTEGER NOT NULL, end_time INTEGER, parent_id TEXT,
    notebook TEXT, cell_id TEXT, deleted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE params (run_id TEXT, key TEXT, value TEXT NOT NULL, type TEXT NOT NULL, num REAL,
    PRIMARY KEY (run_id, key)) WITHOUT ROWID;
CREATE TABLE tags (run_id TEXT, key TEXT, value TEXT NOT NULL,
    PRIMARY KEY (run_id, key)) WITHOUT ROWID;
CREATE TABLE series (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, key TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0, last_step INTEGER, last_value REAL, last_time INTEGER,
    min REAL, max REAL, UNIQUE (run_id, key));
"""

EXPERIMENTS = {1: "mnist", 2: "cifar 10"}
NAN = float("nan")


def _run(run_id, exp, name, status, start, end, params=None, metrics=None, tags=None, **kw):
    return {
        "id": run_id,
        "experiment_id": exp,
        "name": name,
        "status": status,
        "start_time": start,
        "end_time": end,
        "parent_id": kw.get("parent_id"),
        "notebook": kw.get("notebook"),
        "cell_id": kw.get("cell_id"),
        "params": params or {},
        "metrics": metrics or {},
        "tags": tags or {},
    }


RUNS = [
    _run("r01", 1, "baseline", "FINISHED", 1000, 61_000,
         {"alpha": "0.5", "lr": "0.001", "optimizer": "adam"},
         {"rmse": 0.75, "acc": 0.9},
         {"stage": "dev", "team name": "ml ops"}, notebook="nb/a.ipynb", cell_id="c1"),
    _run("r02", 1, "baseline", "FINISHED", 2000, 4500,
         {"alpha": "1.0", "lr": "0.01", "optimizer": "adam"},
         {"rmse": 0.82, "acc": 0.85},
         {"stage": "prod"}, notebook="nb/a.ipynb", cell_id="c1"),
    _run("r03", 1, "tuned-\u03b1", "FAILED", 3000, 3500,
         {"alpha": "0.1", "optimizer": "SGD"},
         {"rmse": NAN, "acc": 0.5},
         {"stage": "Dev", "quote": "it's \"quoted\""}, notebook="nb/b.ipynb", cell_id="c2"),
    _run("r04", 1, None, "RUNNING", 4000, None),
    _run("r05", 2, "resnet", "KILLED", 5000, 125_000,
         {"alpha": "auto", "batch size": "64"},
         {"rmse": 1.5, "val loss": 0.3},
         {"stage": "dev", "note": "100%_done"}, notebook="train.ipynb"),
    _run("r06", 2, "resnet", "CRASHED", 6000, 9000,
         {"alpha": "2", "flag": "True"},
         {"rmse": 0.3, "acc": 0.99},
         {"stage": "staging"}, parent_id="r05"),
    _run("r07", 2, "child", "FINISHED", 7000, 7250,
         {"alpha": "1e-3"},
         {"rmse": -1.0},
         {"path": "a/b*c?[d]"}, parent_id="r05"),
    _run("r08", 1, "with 'quote'", "FINISHED", 8000, 20_000,
         {"alpha": "0.50", "lr": "0.001"},
         {"rmse": 0.8},
         {"stage": "dev", "team name": "ML Ops"}),
    _run("r09", 1, "zero", "FAILED", 1_700_000_000_000, 1_700_000_000_000,
         {"lr": "0.01"},
         {"acc": 0.0}),
    _run("r10", 2, "Baseline", "FINISHED", 10_000, 12_000,
         {"alpha": "nan"},
         {"rmse": 0.5},
         {"stage": "prod"}, notebook="nb/c.ipynb", cell_id="c9"),
    _run("r11", 1, "a_b%c", "RUNNING", 11_000, None,
         {"optimizer": "adamw"},
         {"rmse": 0.79},
         {"note": "A%B"}),
    _run("r12", 2, "last", "FINISHED", 12_000, 72_000,
         {"batch size": "128", "optimizer": "Adam"},
         {"val loss": NAN},
         {"stage": ""}),
]  # fmt: skip
ALL_IDS = [run["id"] for run in RUNS]


def _num(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _make_db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA)
    db.executemany("INSERT INTO experiments VALUES (?, ?, 0)", EXPERIMENTS.items())
    for run in RUNS:
        db.execute(
            "INSERT INTO runs (id, experiment_id, name, status, start_time, end_time, "
            "parent_id, notebook, cell_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run[c] for c in ("id", "experiment_id", "name", "status", "start_time")]
            + [run[c] for c in ("end_time", "parent_id", "notebook", "cell_id")],
        )
        for key, value in run["params"].items():
            db.execute(
                "INSERT INTO params VALUES (?, ?, ?, 'str', ?)",
                (run["id"], key, value, _num(value)),
            )
        for key, value in run["tags"].items():
            db.execute("INSERT INTO tags VALUES (?, ?, ?)", (run["id"], key, value))
        for key, value in run["metrics"].items():
            last = None if math.isnan(value) else value
            db.execute(
                "INSERT INTO series (run_id, key, count, last_step, last_value, last_time) "
                "VALUES (?, ?, 1, 0, ?, 0)",
                (run["id"], key, last),
            )
    db.commit()
    return db


@pytest.fixture(scope="module")
def db():
    conn = _make_db()
    yield conn
    conn.close()


def _dump(conn: sqlite3.Connection) -> list[str]:
    return list(conn.iterdump())


def _select(conn: sqlite3.Connection, text: str | None) -> list[str]:
    sql, args = compile_filter(text)
    rows = conn.execute(f"SELECT r.id FROM runs r WHERE {sql} ORDER BY r.id", args)  # noqa: S608
    return [row[0] for row in rows]


# -- the oracle: plain Python over the fixture dicts, two-valued ------------------------------


def m(run, key):
    value = run["metrics"].get(key)
    return None if value is None or math.isnan(value) else value


def p(run, key):
    return run["params"].get(key)


def pn(run, key):
    value = p(run, key)
    return None if value is None else _num(value)


def t(run, key):
    return run["tags"].get(key)


def a(run, name):
    if name == "duration":
        end = run["end_time"]
        return None if end is None else (end - run["start_time"]) / 1000.0
    if name == "experiment":
        return EXPERIMENTS[run["experiment_id"]]
    return run[name]


OPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le}
OPS.update({">": operator.gt, ">=": operator.ge})


def cmp(value, op, literal):
    return value is not None and OPS[op](value, literal)


def isin(value, items):
    return value is not None and value in items


def notin(value, items):
    return value is not None and value not in items


def like(value, pattern, insensitive=False):
    """LIKE by regex: % any run, _ one char, backslash escapes % _ and backslash."""
    if value is None:
        return False
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_\\":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE | re.ASCII if insensitive else 0)
    return re.fullmatch("".join(out), value, flags) is not None


def unlike(value, pattern, insensitive=False):
    return value is not None and not like(value, pattern, insensitive)


CASES = [
    # MLflow's examples
    ("metrics.rmse < 0.8", lambda r: cmp(m(r, "rmse"), "<", 0.8)),
    ("metrics.rmse <= 0.8", lambda r: cmp(m(r, "rmse"), "<=", 0.8)),
    ("metrics.rmse >= -1", lambda r: cmp(m(r, "rmse"), ">=", -1)),
    ("metrics.rmse > -1.0", lambda r: cmp(m(r, "rmse"), ">", -1.0)),
    ("metrics.rmse != 0.8", lambda r: cmp(m(r, "rmse"), "!=", 0.8)),
    ("metrics.rmse <> 0.8", lambda r: cmp(m(r, "rmse"), "!=", 0.8)),
    ("metrics.acc == 0", lambda r: cmp(m(r, "acc"), "=", 0)),
    ("metrics.acc > 8.5e-1", lambda r: cmp(m(r, "acc"), ">", 0.85)),
    ("params.alpha = '0.5'", lambda r: cmp(p(r, "alpha"), "=", "0.5")),
    ("params.alpha = 0.5", lambda r: cmp(pn(r, "alpha"), "=", 0.5)),
    ("params.alpha > 0.3", lambda r: cmp(pn(r, "alpha"), ">", 0.3)),
    ("params.alpha < 1", lambda r: cmp(pn(r, "alpha"), "<", 1)),
    ("params.alpha != 'auto'", lambda r: cmp(p(r, "alpha"), "!=", "auto")),
    ("params.alpha > '0.3'", lambda r: cmp(p(r, "alpha"), ">", "0.3")),
    ("params.flag = 'True'", lambda r: cmp(p(r, "flag"), "=", "True")),
    ("tags.stage != 'dev'", lambda r: cmp(t(r, "stage"), "!=", "dev")),
    ("tags.stage = ''", lambda r: cmp(t(r, "stage"), "=", "")),
    ("status = 'FINISHED'", lambda r: r["status"] == "FINISHED"),
    (
        "metrics.rmse < 0.8 and params.alpha = '0.5' and tags.stage != 'prod' "
        "and status = 'FINISHED'",
        lambda r: (
            cmp(m(r, "rmse"), "<", 0.8)
            and cmp(p(r, "alpha"), "=", "0.5")
            and cmp(t(r, "stage"), "!=", "prod")
            and r["status"] == "FINISHED"
        ),
    ),
    # quoted keys, prefixes and aliases
    ("metrics.`val loss` < 1", lambda r: cmp(m(r, "val loss"), "<", 1)),
    ('params."batch size" >= 100', lambda r: cmp(pn(r, "batch size"), ">=", 100)),
    ("tags.`team name` = 'ml ops'", lambda r: cmp(t(r, "team name"), "=", "ml ops")),
    ("TAGS.quote = 'it\\'s \"quoted\"'", lambda r: cmp(t(r, "quote"), "=", 'it\'s "quoted"')),
    ('tags.quote = "it\'s \\"quoted\\""', lambda r: cmp(t(r, "quote"), "=", 'it\'s "quoted"')),
    (
        "metric.rmse > 1 OR param.lr = '0.01'",
        lambda r: cmp(m(r, "rmse"), ">", 1) or cmp(p(r, "lr"), "=", "0.01"),
    ),  # fmt: skip
    ("attributes.status = 'FAILED'", lambda r: r["status"] == "FAILED"),
    ("attribute.run_name = 'resnet'", lambda r: r["name"] == "resnet"),
    (
        "Status = 'KILLED' or id = 'r01' or run_id = 'r02'",
        lambda r: r["id"] in ("r01", "r02", "r05"),
    ),
    ("name = 'with \\'quote\\''", lambda r: r["name"] == "with 'quote'"),
    ("experiment = 'cifar 10'", lambda r: r["experiment_id"] == 2),
    ("parent_id = 'r05'", lambda r: r["parent_id"] == "r05"),
    (
        "notebook = 'nb/a.ipynb' and cell_id = 'c1'",
        lambda r: r["notebook"] == "nb/a.ipynb" and r["cell_id"] == "c1",
    ),
    ("start_time >= 6000 and start_time < 1e12", lambda r: 6000 <= r["start_time"] < 1e12),
    ("end_time > 10000", lambda r: cmp(r["end_time"], ">", 10000)),
    ("duration >= 60", lambda r: cmp(a(r, "duration"), ">=", 60)),
    ("duration < 0.5", lambda r: cmp(a(r, "duration"), "<", 0.5)),
    # missing keys and two-valued NOT
    ("NOT params.alpha = '0.5'", lambda r: not cmp(p(r, "alpha"), "=", "0.5")),
    ("not metrics.rmse < 0.8", lambda r: not cmp(m(r, "rmse"), "<", 0.8)),
    ("NOT NOT tags.stage = 'dev'", lambda r: cmp(t(r, "stage"), "=", "dev")),
    ("metrics.rmse IS NULL", lambda r: m(r, "rmse") is None),
    ("metrics.rmse is not null", lambda r: m(r, "rmse") is not None),
    ("params.alpha IS NULL", lambda r: p(r, "alpha") is None),
    ("end_time IS NULL", lambda r: r["end_time"] is None),
    ("name IS NULL or parent_id IS NOT NULL", lambda r: r["name"] is None or r["parent_id"]),
    # boolean structure and precedence
    (
        "status = 'FAILED' OR status = 'KILLED' AND tags.stage = 'dev'",
        lambda r: (
            r["status"] == "FAILED" or (r["status"] == "KILLED" and cmp(t(r, "stage"), "=", "dev"))
        ),
    ),
    (
        "(status = 'FAILED' OR status = 'FINISHED') AND metrics.rmse > 0.5",
        lambda r: r["status"] in ("FAILED", "FINISHED") and cmp(m(r, "rmse"), ">", 0.5),
    ),
    (
        "NOT (tags.stage = 'dev' OR tags.stage = 'prod') AND experiment = 'mnist'",
        lambda r: (
            not (cmp(t(r, "stage"), "=", "dev") or cmp(t(r, "stage"), "=", "prod"))
            and r["experiment_id"] == 1
        ),
    ),
    (
        "((((metrics.acc > 0.8))) or (((name = 'last'))))",
        lambda r: cmp(m(r, "acc"), ">", 0.8) or r["name"] == "last",
    ),
    # IN
    ("status IN ('FAILED', 'KILLED')", lambda r: r["status"] in ("FAILED", "KILLED")),
    ("status not in ('FINISHED')", lambda r: r["status"] != "FINISHED"),
    ("params.alpha IN (0.5, 2)", lambda r: isin(pn(r, "alpha"), (0.5, 2))),
    ("params.alpha IN ('0.5', 'auto')", lambda r: isin(p(r, "alpha"), ("0.5", "auto"))),
    ("params.alpha NOT IN ('0.5', 'auto')", lambda r: notin(p(r, "alpha"), ("0.5", "auto"))),
    ("NOT params.alpha IN ('0.5', 'auto')", lambda r: not isin(p(r, "alpha"), ("0.5", "auto"))),
    ("metrics.rmse in (0.3, 1.5)", lambda r: isin(m(r, "rmse"), (0.3, 1.5))),
    ("tags.stage IN ('dev', 'Dev')", lambda r: isin(t(r, "stage"), ("dev", "Dev"))),
    # LIKE (case-sensitive) and ILIKE (ASCII case-insensitive)
    ("name LIKE 'base%'", lambda r: like(r["name"], "base%")),
    ("name ILIKE 'base%'", lambda r: like(r["name"], "base%", True)),
    ("name NOT LIKE 'base%'", lambda r: unlike(r["name"], "base%")),
    ("NOT name LIKE 'base%'", lambda r: not like(r["name"], "base%")),
    ("name not ilike '%E%'", lambda r: unlike(r["name"], "%E%", True)),
    ("params.optimizer LIKE 'adam_'", lambda r: like(p(r, "optimizer"), "adam_")),
    ("params.optimizer ILIKE 'ADAM'", lambda r: like(p(r, "optimizer"), "ADAM", True)),
    ("tags.stage like '_ev'", lambda r: like(t(r, "stage"), "_ev")),
    ("tags.`team name` ILIKE 'ml%'", lambda r: like(t(r, "team name"), "ml%", True)),
    (r"name LIKE 'a\_b\%c'", lambda r: like(r["name"], r"a\_b\%c")),
    (r"name LIKE '%\_%'", lambda r: like(r["name"], r"%\_%")),
    (r"tags.note LIKE '%\%\_%'", lambda r: like(t(r, "note"), r"%\%\_%")),
    (r"tags.note ILIKE 'a\%b'", lambda r: like(t(r, "note"), r"a\%b", True)),
    ("tags.path LIKE 'a/b*c?[d]'", lambda r: like(t(r, "path"), "a/b*c?[d]")),
    ("tags.path LIKE '%*%?%[%]'", lambda r: like(t(r, "path"), "%*%?%[%]")),
    ("tags.path ILIKE 'A/B*C?[D]'", lambda r: like(t(r, "path"), "A/B*C?[D]", True)),
    ("name LIKE 'tuned-\u03b1'", lambda r: like(r["name"], "tuned-\u03b1")),
    ("name LIKE 'tuned-_'", lambda r: like(r["name"], "tuned-_")),
    ("experiment LIKE '% %'", lambda r: like(a(r, "experiment"), "% %")),
    # literals that look like SQL are just text
    ('name = "\'; DROP TABLE runs; --"', lambda r: False),
]


@pytest.mark.parametrize(("text", "oracle"), CASES, ids=[c[0] for c in CASES])
def test_filter_matches_oracle(db, text, oracle):
    before = _dump(db)
    expected = [run["id"] for run in RUNS if oracle(run)]
    assert _select(db, text) == expected
    assert _dump(db) == before


def test_the_table_is_discriminating(db):
    """Most filters select some runs but not all, so the oracle checks mean something."""
    assert len(CASES) >= 40
    proper = [text for text, _ in CASES if 0 < len(_select(db, text)) < len(RUNS)]
    assert len(proper) >= len(CASES) - 3


@pytest.mark.parametrize("text", [None, "", "   \n\t"])
def test_empty_filter_is_everything(db, text):
    assert compile_filter(text) == ("1", [])
    assert _select(db, text) == ALL_IDS


def test_keys_and_values_are_bound_never_pasted():
    sql, args = compile_filter(
        "tags.`evil key` = 'x; DROP TABLE runs' and params.\"my-DROP.key\" > 1 and "
        "metrics.sneaky/key IS NULL"
    )
    for value in ("evil key", "DROP", "sneaky", "x;"):
        assert value not in sql
    assert args == ["evil key", "x; DROP TABLE runs", "my-DROP.key", 1, "sneaky/key"]


def test_deep_not_chain_is_a_loop_not_recursion(db):
    text = "NOT " * 2001 + "status = 'FINISHED'"
    assert len(text) <= MAX_FILTER_LENGTH
    assert _select(db, text) == [r["id"] for r in RUNS if r["status"] != "FINISHED"]


def test_huge_numbers_do_not_overflow(db):
    assert _select(db, "start_time < " + "9" * 5000) == ALL_IDS
    assert _select(db, "start_time > -99999999999999999999") == ALL_IDS
    assert _select(db, "metrics.rmse < 1e400") == [
        r["id"] for r in RUNS if m(r, "rmse") is not None
    ]


def test_limits_at_the_edge_are_accepted(db):
    in_list = ", ".join(["'x'"] * MAX_IN_ITEMS)
    assert _select(db, f"status IN ({in_list})") == []
    many = " OR ".join(["status = 'KILLED'"] * MAX_COMPARISONS)
    assert _select(db, many) == ["r05"]
    nested = "(" * MAX_NESTING + "status = 'KILLED'" + ")" * MAX_NESTING
    assert _select(db, nested) == ["r05"]
    wild = "%" * MAX_LIKE_WILDCARDS
    assert _select(db, f"name LIKE '{wild}'") == [r["id"] for r in RUNS if r["name"]]
    long_pattern = "a" * MAX_LIKE_PATTERN_LENGTH
    assert _select(db, f"name LIKE '{long_pattern}'") == []
    assert _select(db, f"name = '{'a' * MAX_STRING_LENGTH}'") == []


# -- hostile and malformed filters -------------------------------------------------------------


def _or_chain(n: int) -> str:
    return " OR ".join(["status = 'x'"] * n)


HOSTILE = [
    # (filter, 0-based position of the offending character)
    ("status = 'FINISHED'; DROP TABLE runs", 19),
    ("1=1 --", 0),
    ("status = 'x' --", 13),
    ("status = 'x' -- comment", 13),
    ("status = 'x' UNION SELECT * FROM runs", 13),
    ("status = 'x' OR 1=1", 16),
    ("status = 'x' /* c */", 13),
    ("status = 'x' # comment", 13),
    ("name = 'x' || 'y'", 11),
    ("status = $1", 9),
    ("status = ?", 9),
    ("status = 'x'\x00", 12),
    ("\x00", 0),
    ("__import__('os').system('x')", 0),
    ("lambda: 1", 0),
    ("status = 'x' AND exec('import os')", 17),
    ("status = 'FINISHED", 9),
    ("tags.k = 'a\\'", 9),
    ("tags.stage = 'dev' AND tags.stage = \"prod", 36),
    ("tags.stage = 'dev'' OR ''1''=''1'", 18),
    ("(status = 'x'", 0),
    ("((status = 'x')", 0),
    ("status = 'x')", 12),
    ("status = 'x' (", 13),
    ("()", 1),
    ("(" * 10_000, MAX_NESTING),
    ("(" * 5000 + "status = 'x'" + ")" * 4988, MAX_NESTING),
    ("NOT " * 2500 + "status = 'x'", MAX_FILTER_LENGTH),
    ("x" * (MAX_FILTER_LENGTH + 1), MAX_FILTER_LENGTH),
    (_or_chain(MAX_COMPARISONS + 1), len(_or_chain(MAX_COMPARISONS)) + 4),
    ("name IN (" + "'a', " * MAX_IN_ITEMS + "'a')", 9 + 5 * MAX_IN_ITEMS),
    ("tags.x LIKE '" + "%" * (MAX_LIKE_WILDCARDS + 1) + "'", 12),
    ("tags.x LIKE '" + "_a" * (MAX_LIKE_WILDCARDS + 1) + "'", 12),
    ("tags.x LIKE '" + "a" * (MAX_LIKE_PATTERN_LENGTH + 1) + "'", 12),
    ("name = '" + "a" * (MAX_STRING_LENGTH + 1) + "'", 7),
    # type errors point at the literal
    ("metrics.rmse = 'abc'", 15),
    ("metrics.rmse LIKE '1%'", 18),
    ("metrics.rmse IN (1, '2')", 20),
    ("metrics.rmse IN ('1', '2')", 17),
    ("start_time LIKE '1%'", 16),
    ("duration > '10'", 11),
    ("tags.stage = 1", 13),
    ("status IN (1, 2)", 11),
    ("params.alpha IN ('a', 1)", 22),
    # grammar errors
    ("status = NULL", 9),
    ("metrics.rmse IS 1", 16),
    ("metrics.rmse IS NOT 'x'", 20),
    ("status", 6),
    ("status 'x'", 7),
    ("'FINISHED' = status", 0),
    ("= 'x'", 0),
    ("metrics.rmse <", 14),
    ("metrics.rmse < 0.8 AND", 22),
    ("AND status = 'x'", 0),
    ("status = 'x' AND OR status = 'y'", 17),
    ("status == 'x' status = 'y'", 14),
    ("status = = 'x'", 9),
    ("status =< 'x'", 8),
    ("status ! 'x'", 7),
    ("params.a NOT = '1'", 13),
    ("params.alpha IN ()", 17),
    ("params.alpha IN (SELECT value FROM params)", 17),
    ("status IN 'x'", 10),
    ("status IN ('x'", 10),
    ("status IN ('x' 'y')", 15),
    ("name LIKE 1", 10),
    ("name LIKE name", 10),
    ("status = status", 9),
    ("metrics.rmse < 1abc", 15),
    ("metrics.rmse < 0x10", 15),
    ("metrics.rmse < 1e", 15),
    ("metrics.rmse < 1.2.3", 15),
    ("metrics.rmse < - 1", 15),
    ("metrics.rmse < 1 + 1", 17),
    ("tags.`stage = 'x'", 5),
    ("metrics. = 1", 8),
    ("metrics.`` = 1", 8),
    ("params.`a;b` = 1", 7),
    ("foo.bar = 1", 0),
    ("runs.status = 'x'", 0),
    ("attributes.color = 'red'", 0),
    ("unknown = 'x'", 0),
    ("metrics.rmse < 0.8 AND sleep(10)", 23),
    ("status = 'x' AND `status` = 'x'", 17),
    ("tags.x = 'a' and tags.y = \u201cb\u201d", 26),
    ("status = 'x' ; ", 13),
]


@pytest.mark.parametrize(("text", "position"), HOSTILE, ids=[h[0][:60] for h in HOSTILE])
def test_hostile_filter_is_a_fast_error_at_its_position(db, text, position):
    before = _dump(db)
    started = time.perf_counter()
    with pytest.raises(FilterError) as info:
        compile_filter(text)
    assert time.perf_counter() - started < 0.2
    assert isinstance(info.value, ValueError)
    assert info.value.position == position, str(info.value)
    assert info.value.text == text
    assert "^" in str(info.value)
    assert _dump(db) == before


def test_the_message_says_what_to_do():
    with pytest.raises(FilterError, match="IS NULL"):
        compile_filter("status = NULL")
    with pytest.raises(FilterError, match="compare with a number"):
        compile_filter("metrics.rmse = 'abc'")
    with pytest.raises(FilterError, match=f"limit of {MAX_NESTING}"):
        compile_filter("(" * 100)
    with pytest.raises(FilterError, match="never closed"):
        compile_filter("(status = 'x'")
    with pytest.raises(FilterError, match="straight quotes"):
        compile_filter("tags.stage = \u2018dev\u2019")
    with pytest.raises(FilterError, match="Unterminated string"):
        compile_filter("status = 'x")


def test_not_a_string_is_an_error():
    with pytest.raises(FilterError):
        compile_filter(42)  # type: ignore[arg-type]


VOCABULARY = [
    "metrics.rmse", "params.alpha", "tags.stage", "status", "name", "duration", "start_time",
    "experiment", "AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "IS", "NULL", "(", ")", ",", "=",
    "!=", "<", ">=", "'dev'", "'0.5'", '"x"', "0.5", "-1", "1e3", "'%a_'", ";", "--", "'",
    "`", "SELECT", "*", "metrics.`val loss`", "\\", "DROP", "attributes.status", "1",
]  # fmt: skip


def test_random_token_soup_is_an_error_or_valid_sql(db):
    """Whatever the tokens, the result is a FilterError or SQL SQLite runs without complaint."""
    rng = random.Random(20240601)
    before = _dump(db)
    valid = 0
    for _ in range(3000):
        text = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(1, 12)))
        try:
            sql, args = compile_filter(text)
        except FilterError as exc:
            assert 0 <= exc.position <= len(text)
            continue
        db.execute(f"SELECT r.id FROM runs r WHERE {sql}", args).fetchall()  # noqa: S608
        valid += 1
    assert valid > 0
    assert _dump(db) == before


# -- order_by ----------------------------------------------------------------------------------


def _param_sort_value(run, key):
    value = p(run, key)
    if value is None:
        return None
    number = _num(value)
    return (0, number, "") if number is not None else (1, 0, value)


ORDER_KEYS = {
    "metrics.rmse": lambda r: m(r, "rmse"),
    "metrics.`val loss`": lambda r: m(r, "val loss"),
    "params.alpha": lambda r: _param_sort_value(r, "alpha"),
    "tags.stage": lambda r: t(r, "stage"),
    "start_time": lambda r: r["start_time"],
    "end_time": lambda r: r["end_time"],
    "duration": lambda r: a(r, "duration"),
    "name": lambda r: r["name"],
    "attributes.status": lambda r: r["status"],
    "experiment": lambda r: a(r, "experiment"),
}


def _expected_order(items: list[tuple[str, bool]]) -> list[str]:
    # creation order (the fixture inserts RUNS in order), in the first field's direction,
    # is the final tiebreaker
    runs = list(reversed(RUNS)) if items[0][1] else list(RUNS)
    for field, descending in reversed(items):  # stable sorts, least significant first
        key = ORDER_KEYS[field]
        present = sorted((r for r in runs if key(r) is not None), key=key, reverse=descending)
        runs = present + [r for r in runs if key(r) is None]  # missing values last
    return [r["id"] for r in runs]


def _ordered(conn, order_by) -> list[str]:
    sql, args = compile_order_by(order_by)
    rows = conn.execute(f"SELECT r.id FROM runs r ORDER BY {sql}", args)  # noqa: S608
    return [row[0] for row in rows]


ORDER_CASES = [
    ("metrics.rmse ASC", [("metrics.rmse", False)]),
    ("metrics.rmse desc", [("metrics.rmse", True)]),
    (["metrics.`val loss`"], [("metrics.`val loss`", False)]),
    (["params.alpha"], [("params.alpha", False)]),
    (["params.alpha DESC"], [("params.alpha", True)]),
    ("tags.stage, start_time DESC", [("tags.stage", False), ("start_time", True)]),
    (["name DESC", "metrics.rmse"], [("name", True), ("metrics.rmse", False)]),
    (["attributes.status", "duration DESC"], [("attributes.status", False), ("duration", True)]),
    ("experiment ASC, end_time DESC", [("experiment", False), ("end_time", True)]),
    (None, [("start_time", True)]),
    ("", [("start_time", True)]),
    ([], [("start_time", True)]),
]


@pytest.mark.parametrize(("order_by", "items"), ORDER_CASES, ids=[str(c[0]) for c in ORDER_CASES])
def test_order_by_orders_like_the_oracle(db, order_by, items):
    assert _ordered(db, order_by) == _expected_order(items)


def test_order_by_defaults_to_newest_first_with_a_tiebreaker():
    assert compile_order_by(None) == ("r.start_time DESC, r.rowid DESC", [])
    sql, args = compile_order_by("tags.`team name`")
    assert sql.endswith(", r.rowid ASC") and "team name" not in sql and args == ["team name"] * 2


ORDER_HOSTILE = [
    ("rmse; DROP", 0),
    ("1", 0),
    ("metrics.rmse; DROP TABLE runs", 12),
    ("metrics.rmse ASC, ", 18),
    (",metrics.rmse", 0),
    ("metrics.rmse + 1", 13),
    ("metrics.rmse * -1", 13),
    ("status DESC NULLS FIRST", 12),
    ("(SELECT 1)", 0),
    ("metrics.rmse DESC LIMIT 1", 18),
    ("random()", 0),
    ("'status'", 0),
    ("status COLLATE NOCASE", 7),
    ("status ASC DESC", 11),
    ("metrics.rmse < 1", 13),
    ("r.id", 0),
    ("id --", 3),
    ("x" * (MAX_FILTER_LENGTH + 1), MAX_FILTER_LENGTH),
    (", ".join(["status"] * (MAX_ORDER_BY_FIELDS + 1)), 8 * MAX_ORDER_BY_FIELDS),
]


@pytest.mark.parametrize(
    ("order_by", "position"), ORDER_HOSTILE, ids=[h[0][:40] for h in ORDER_HOSTILE]
)
def test_bad_order_by_is_an_error_at_its_position(order_by, position):
    started = time.perf_counter()
    with pytest.raises(FilterError) as info:
        compile_order_by(order_by)
    assert time.perf_counter() - started < 0.2
    assert info.value.position == position, str(info.value)


@pytest.mark.parametrize("order_by", [["metrics.rmse", 1], 42, ["status; DROP TABLE runs"]])
def test_order_by_rejects_other_shapes(order_by):
    with pytest.raises(FilterError):
        compile_order_by(order_by)

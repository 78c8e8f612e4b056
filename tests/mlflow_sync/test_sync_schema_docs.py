"""docs/schema.md stays true: every table, view and column of a fresh store, with its type,
is documented, and nothing documented is missing from the store."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from jupyter_tracker.store import Store

DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"
_HEADING = re.compile(r"^### `(\w+)`$")
_COLUMN = re.compile(r"^\| `(\w+)` \|\s*([A-Z]*)\s*\|")


def documented() -> dict[str, dict[str, list[tuple[str, str]]]]:
    """{"table"|"view": {name: [(column, type), ...]}} as docs/schema.md describes them."""
    found: dict[str, dict[str, list[tuple[str, str]]]] = {"table": {}, "view": {}}
    kind = name = None
    for line in DOC.read_text().splitlines():
        if line in ("## Tables", "## Views"):
            kind, name = line[3:-1].lower(), None
        elif (heading := _HEADING.match(line)) and kind:
            name = heading.group(1)
            found[kind][name] = []
        elif (column := _COLUMN.match(line)) and kind and name:
            found[kind][name].append((column.group(1), column.group(2)))
    return found


def in_the_store(tmp_path) -> dict[str, dict[str, list[tuple[str, str]]]]:
    store = Store.open(tmp_path / "store")
    conn = sqlite3.connect(store.db_path)
    found: dict[str, dict[str, list[tuple[str, str]]]] = {"table": {}, "view": {}}
    for kind, name in conn.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite_%'"
    ):
        found[kind][name] = [
            (column, declared if kind == "table" or declared else "")
            for _, column, declared, *_ in conn.execute(f"PRAGMA table_info({name})")
        ]
    conn.close()
    return found


def test_the_schema_page_describes_every_table_view_and_column(tmp_path):
    doc, store = documented(), in_the_store(tmp_path)
    for kind in ("table", "view"):
        assert sorted(doc[kind]) == sorted(store[kind]), f"{kind}s differ"
        for name, columns in store[kind].items():
            assert doc[kind][name] == columns, f"{kind} {name}: documented != in the store"


def test_the_views_read_as_the_page_says(store):
    import jupyter_tracker as jt

    with jt.start_run(name="seen", params={"alpha": 0.5}) as run:
        for loss in (0.5, 0.25, float("nan")):
            jt.log_metric("loss", loss)
        jt.log_artifact("v1", name="notes.txt")
        jt.log_artifact("v2", name="notes.txt")
    store.flush()
    conn = sqlite3.connect(store.db_path)
    conn.row_factory = sqlite3.Row
    row = conn.execute("SELECT * FROM runs_view WHERE run_id = ?", (run.id,)).fetchone()
    assert (row["name"], row["status"], row["params"]) == ("seen", "FINISHED", '{"alpha":"0.5"}')
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["started"])
    latest = conn.execute("SELECT * FROM metrics_latest WHERE run_id = ?", (run.id,)).fetchone()
    assert (latest["key"], latest["value"], latest["points"], latest["min"]) == (
        "loss",
        None,
        3,
        0.25,
    )
    history = conn.execute(
        "SELECT step, value FROM metric_history WHERE run_id = ? ORDER BY seq", (run.id,)
    ).fetchall()
    assert [tuple(r) for r in history] == [(0, 0.5), (1, 0.25), (2, None)]
    (artifact,) = conn.execute("SELECT * FROM artifacts_latest WHERE run_id = ?", (run.id,))
    assert (artifact["path"], artifact["version"]) == ("notes.txt", 2)
    conn.close()

"""Listings at scale: every order and page of ``records`` and ``run_page`` (keyset paging)
against the filter tests' oracle, cursors, and query plans that read a page, not the store."""

from __future__ import annotations

import math

import pytest
from test_filter import EXPERIMENTS, ORDER_CASES, RUNS, _expected_order, _num

from jupyter_tracker.errors import InvalidInputError
from jupyter_tracker.store import Store, queries


@pytest.fixture(scope="module")
def fixture_store(tmp_path_factory):
    """The filter tests' runs in a real store (the fixture order is creation order)."""
    store = Store.open(tmp_path_factory.mktemp("scale") / "store")
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO experiments (id, name, created_at) VALUES (?, ?, 0)",
            EXPERIMENTS.items(),
        )
        for run in RUNS:
            conn.execute(
                "INSERT INTO runs (id, experiment_id, name, status, start_time, end_time, "
                "parent_id, notebook, cell_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run[c] for c in ("id", "experiment_id", "name", "status", "start_time")]
                + [run[c] for c in ("end_time", "parent_id", "notebook", "cell_id")],
            )
            conn.executemany(
                "INSERT INTO params (run_id, key, value, type, num) VALUES (?, ?, ?, 'str', ?)",
                [(run["id"], k, v, _num(v)) for k, v in run["params"].items()],
            )
            conn.executemany(
                "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)",
                [(run["id"], k, v) for k, v in run["tags"].items()],
            )
            conn.executemany(
                "INSERT INTO series (run_id, key, count, last_step, last_value, last_time) "
                "VALUES (?, ?, 1, 0, ?, 0)",
                [(run["id"], k, None if math.isnan(v) else v) for k, v in run["metrics"].items()],
            )
    return store


def _ids(records) -> list[str]:
    return [r["run_id"] for r in records]


def _all_pages(store, order_by, limit, **kw) -> list[str]:
    ids, after, pages = [], None, 0
    while True:
        page, after = queries.run_page(store, order_by=order_by, limit=limit, after=after, **kw)
        ids += _ids(page)
        pages += 1
        assert pages <= len(RUNS) + 1, "paging does not end"
        if after is None:
            return ids


@pytest.mark.parametrize(("order_by", "items"), ORDER_CASES, ids=[str(c[0]) for c in ORDER_CASES])
def test_records_and_every_page_follow_the_order(fixture_store, order_by, items):
    expected = _expected_order(items)
    assert _ids(queries.records(fixture_store, order_by=order_by)) == expected
    for offset in (0, 1, 5, 9, 11, 12, 20):  # across the runs with and without a value
        for limit in (1, 3, 100):
            got = queries.records(fixture_store, order_by=order_by, offset=offset, limit=limit)
            assert _ids(got) == expected[offset : offset + limit], (offset, limit)
    for limit in (1, 2, 5, 12, 50):
        assert _all_pages(fixture_store, order_by, limit) == expected, limit


def test_pages_keep_the_filter_and_the_experiment(fixture_store):
    filtered = "metrics.rmse < 1 or tags.stage = 'dev'"
    expected = _ids(queries.records(fixture_store, filtered, "metrics.rmse DESC", "mnist"))
    assert expected and set(expected) < {r["id"] for r in RUNS}
    got = _all_pages(fixture_store, "metrics.rmse DESC", 2, filter=filtered, experiment="mnist")
    assert got == expected


def test_the_last_page_has_no_next_cursor_and_a_full_one_does(fixture_store):
    page, after = queries.run_page(fixture_store, limit=len(RUNS))
    assert len(page) == len(RUNS) and after is None
    page, after = queries.run_page(fixture_store, limit=len(RUNS) - 1)
    assert after is not None
    last, after = queries.run_page(fixture_store, limit=len(RUNS) - 1, after=after)
    assert len(last) == 1 and after is None


@pytest.mark.parametrize(
    "cursor", ["", "%%%", "bm90IGpzb24", "W10", "W1tdLCJ4IiwxXQ", "x" * 30_000, "W1sxXSwxLDFd"]
)
def test_a_cursor_not_given_out_is_a_clear_error(fixture_store, cursor):
    with pytest.raises(InvalidInputError, match="first page"):
        queries.run_page(fixture_store, limit=2, after=cursor)


def test_a_cursor_of_another_order_is_refused(fixture_store):
    _, after = queries.run_page(fixture_store, order_by="metrics.rmse", limit=2)
    with pytest.raises(InvalidInputError):
        queries.run_page(fixture_store, order_by=["metrics.rmse", "name"], limit=2, after=after)


def test_a_cursor_survives_vacuum(tmp_path):
    store = Store.open(tmp_path / "store")
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO runs (id, experiment_id, name, status, start_time) "
            "VALUES (?, 0, ?, 'FINISHED', ?)",
            [(f"{i:032x}", f"run {i}", 1000 + i % 3) for i in range(30)],
        )
        conn.execute("DELETE FROM runs WHERE id < ?", (f"{10:032x}",))  # rowids with gaps
    expected = _ids(queries.records(store))
    first, after = queries.run_page(store, limit=7)
    store.connection().execute("VACUUM")
    rest = []
    while after is not None:
        page, after = queries.run_page(store, limit=7, after=after)
        rest += _ids(page)
    assert _ids(first) + rest == expected


# -- query plans ------------------------------------------------------------------------------


def _plans(store, call) -> list[str]:
    """The query plans of the statements ``call`` reads with."""
    seen: list[tuple[str, list]] = []
    read = store.read

    def recording(sql, args=()):
        seen.append((sql, list(args)))
        return read(sql, args)

    store.read = recording
    try:
        call()
    finally:
        del store.read
    conn = store.connection()
    return [
        " / ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", args))
        for sql, args in seen
    ]


@pytest.fixture(scope="module")
def big_store(tmp_path_factory):
    """3,000 runs: enough that SQLite's plan reflects the indexes."""
    store = Store.open(tmp_path_factory.mktemp("plans") / "store")
    ids = [f"{i:032x}" for i in range(3000)]
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO runs (id, experiment_id, name, status, start_time, end_time) "
            "VALUES (?, 0, ?, 'FINISHED', ?, ?)",
            [(r, f"run {i}", 1000 + i, 2000 + i) for i, r in enumerate(ids)],
        )
        conn.executemany(
            "INSERT INTO params (run_id, key, value, type, num) VALUES (?, 'alpha', ?, 'float', ?)",
            [(r, str(i / 7), i / 7) for i, r in enumerate(ids)],
        )
        conn.executemany(
            "INSERT INTO tags (run_id, key, value) VALUES (?, 'stage', ?)",
            [(r, f"s{i % 5}") for i, r in enumerate(ids)],
        )
        conn.executemany(
            "INSERT INTO series (run_id, key, count, last_value) VALUES (?, 'loss', 1, ?)",
            [(r, (i * 7919 % 3000) / 3000) for i, r in enumerate(ids)],
        )
    return store


@pytest.mark.parametrize(
    ("order_by", "index"),
    [
        (None, "runs_by_time"),
        ("start_time ASC", "runs_by_time"),
        ("status", "runs_by_status"),
        ("metrics.loss DESC", "series_by_value"),
        ("metrics.loss", "series_by_value"),
    ],
)
def test_a_sorted_page_is_read_from_an_index_in_that_order(big_store, order_by, index):
    first = _plans(big_store, lambda: queries.run_page(big_store, order_by=order_by, limit=50))
    _, after = queries.run_page(big_store, order_by=order_by, limit=50)
    later = _plans(
        big_store, lambda: queries.run_page(big_store, order_by=order_by, limit=50, after=after)
    )
    for plan in (first[0], later[1]):  # [the cursor's run,] the page, then its values by run
        assert f"USING INDEX {index}" in plan or f"COVERING INDEX {index}" in plan, plan
        assert "TEMP B-TREE FOR ORDER BY" not in plan, plan  # read in order, not sorted
    for plan in first[1:] + later[2:]:
        assert "SEARCH" in plan and "SCAN" not in plan, plan


def test_a_filtered_page_is_read_in_order_too(big_store):
    plans = _plans(
        big_store,
        lambda: queries.run_page(big_store, "params.alpha > 10", "metrics.loss", limit=50),
    )
    assert "INDEX series_by_value" in plans[0], plans


# -- counts, keys and the table's fingerprint without reading every run -------------------------


def _slow_count(store, experiment=None) -> int:
    """The count as a filter that matches every run computes it (reading each run)."""
    return queries.count_runs(store, "run_id LIKE '%'", experiment)


def test_counts_follow_inserts_deletes_restores_purges_and_moves(store):
    import jupyter_tracker as jt
    from jupyter_tracker.store import _maintenance

    runs = []
    for i in range(4):
        with jt.start_run(experiment="a" if i % 2 else "b", params={"p": i}) as run:
            runs.append(run.id)

    def counts():
        by_name = {e["name"]: e["runs"] for e in queries.experiments(store)}
        for name in ("a", "b"):
            assert queries.count_runs(store, experiment=name) == _slow_count(store, name)
            assert by_name.get(name, 0) == _slow_count(store, name)
        assert queries.count_runs(store) == _slow_count(store)
        return by_name["a"], by_name["b"]

    assert counts() == (2, 2)
    _maintenance.delete_runs(store, [runs[0], runs[1]])
    assert counts() == (1, 1)
    _maintenance.restore_runs(store, [runs[0]])
    assert counts() == (1, 2)
    with store.write() as conn:
        conn.execute(
            "UPDATE runs SET experiment_id = (SELECT id FROM experiments WHERE name = 'a') "
            "WHERE id = ?",
            (runs[0],),
        )
    assert counts() == (2, 1)
    with store.write() as conn:
        conn.execute("DELETE FROM runs WHERE id IN (?, ?)", (runs[1], runs[2]))
    assert counts() == (2, 0)


def test_keys_without_a_filter_leave_out_deleted_runs_and_system_tags(store):
    import jupyter_tracker as jt
    from jupyter_tracker.store import _maintenance

    with jt.start_run(experiment="x", params={"kept": 1}, tags={"t": "1"}) as run:
        jt.log_metric("loss", 0.5)
    with jt.start_run(experiment="y", params={"gone": 1}) as gone:
        jt.log_metric("only_gone", 1.0)
    _maintenance.delete_runs(store, [gone.id])
    keys = queries.run_keys(store)
    assert keys == queries.run_keys(store, "run_id LIKE '%'")  # the filtered path agrees
    assert keys["params"] == ["kept"] and keys["metrics"] == ["loss"] and keys["tags"] == ["t"]
    assert queries.run_keys(store, experiment="y") == {"params": [], "metrics": [], "tags": []}
    assert run.id


def test_the_fingerprint_changes_when_a_run_is_added_deleted_or_ends(store):
    import jupyter_tracker as jt
    from jupyter_tracker.store import _maintenance

    before = queries.runs_signature(store)
    run = jt.start_run()
    started = queries.runs_signature(store)
    assert started != before
    jt.end_run()
    ended = queries.runs_signature(store)
    assert ended != started
    _maintenance.delete_runs(store, [run.id])
    assert queries.runs_signature(store) != ended
    assert not queries.any_runs(store) and queries.count_runs(store) == 0


# -- long series: downsampled from the blocks' summaries ----------------------------------------


def _series_with_spikes(n: int) -> str:
    import jupyter_tracker as jt

    with jt.start_run() as run:
        for i in range(n):
            value = math.sin(i / 5000)
            if i == 12_345:
                value = 1000.0
            elif i == 150_001:
                value = -50.0
            elif 100_000 <= i < 100_050:
                value = math.nan
            run.log_metric("loss", value, step=i)
    return run.id


def _check_curve(steps, values, budget, n):
    assert len(values) <= budget and steps == sorted(steps)
    assert steps[0] == 0 and steps[-1] == n - 1
    finite = [v for v in values if not math.isnan(v)]
    assert max(finite) == 1000.0 and min(finite) == -50.0
    assert steps[values.index(1000.0)] == 12_345 and steps[values.index(-50.0)] == 150_001
    gaps = [s for s, v in zip(steps, values, strict=True) if math.isnan(v)]
    assert gaps == [100_000]


def test_a_long_series_is_downsampled_from_block_summaries(store):
    n = 210_000  # 205 full blocks and a tail
    run_id = _series_with_spikes(n)
    blocks = store.read("SELECT COUNT(*) FROM point_blocks")[0][0]
    assert blocks == n // 1024
    seen = []
    read = store.read
    store.read = lambda sql, args=(): seen.append(sql) or read(sql, args)
    try:
        steps, values, _ = queries.downsampled_points(store, run_id, "loss", 302)
    finally:
        del store.read
    assert not any("RECURSIVE" in sql for sql in seen)  # no scan of the points per bucket
    _check_curve(steps, values, 302, n)
    with store.write() as conn:  # points written without summaries: the exact path
        conn.execute("DELETE FROM point_blocks WHERE block = 3")
    _check_curve(*queries.downsampled_points(store, run_id, "loss", 302)[:2], 302, n)
    with store.write() as conn:
        conn.execute("DELETE FROM series")
    assert store.read("SELECT COUNT(*) FROM point_blocks")[0][0] == 0  # purged along


def test_the_run_tables_questions_without_a_filter_read_no_table_through(big_store):
    plans = _plans(
        big_store,
        lambda: (
            queries.count_runs(big_store),
            queries.any_runs(big_store, "notebook IS NOT NULL"),
            queries.runs_signature(big_store),
            queries.run_keys(big_store),
            queries.experiments(big_store),
        ),
    )
    for plan in plans:
        scans = [step for step in plan.split(" / ") if step.startswith("SCAN")]
        allowed = ("SCAN CONSTANT ROW", "SCAN k", "SCAN e", "SCAN c")  # experiments, counts
        assert all(step in allowed for step in scans), plan


def test_the_fingerprint_changes_when_an_ended_run_runs_again(store):
    import jupyter_tracker as jt

    with jt.start_run() as first:
        pass
    ended = queries.runs_signature(store)
    jt.start_run(run_id=first.id)  # resumed: RUNNING again, no new row
    assert queries.runs_signature(store) != ended
    jt.end_run()


def test_overlapping_bulk_reads_in_threads_leave_the_garbage_collector_on():
    import gc
    import sys
    import threading

    from jupyter_tracker.store.queries import _many_rows

    def read() -> None:
        for _ in range(20_000):  # with the unlocked pause, 3 runs of 3 ended with it off
            with _many_rows():
                pass

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch between any two steps
    try:
        threads = [threading.Thread(target=read) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert gc.isenabled()

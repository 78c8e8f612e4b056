"""What can be logged: every value either round-trips exactly or is refused at the call, and
a refused value never stops the process from logging (issue 8, item 2)."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jupyter_tracker as jt
from jupyter_tracker.errors import InvalidInputError

LONE = "\ud800"

# (what, call, expected error): each refused before anything is buffered.
REFUSED = [
    ("step 2**63", lambda: jt.log_metric("x", 1.0, step=2**63), InvalidInputError),
    ("step -2**63-1", lambda: jt.log_metric("x", 1.0, step=-(2**63) - 1), InvalidInputError),
    ("step 1.5", lambda: jt.log_metric("x", 1.0, step=1.5), TypeError),
    ("step '3'", lambda: jt.log_metric("x", 1.0, step="3"), TypeError),
    ("step True", lambda: jt.log_metric("x", 1.0, step=True), TypeError),
    ("timestamp 2**64", lambda: jt.log_metric("x", 1.0, timestamp=2**64), InvalidInputError),
    ("timestamp 1e300", lambda: jt.log_metric("x", 1.0, timestamp=1e300), InvalidInputError),
    (
        "timestamp in 2300",
        lambda: jt.log_metric("x", 1.0, timestamp=10_413_792_000_000),
        InvalidInputError,
    ),
    ("timestamp -1", lambda: jt.log_metric("x", 1.0, timestamp=-1), InvalidInputError),
    ("timestamp nan", lambda: jt.log_metric("x", 1.0, timestamp=math.nan), InvalidInputError),
    ("timestamp inf", lambda: jt.log_metric("x", 1.0, timestamp=math.inf), InvalidInputError),
    ("timestamp text", lambda: jt.log_metric("x", 1.0, timestamp="now"), TypeError),
    ("value 10**400", lambda: jt.log_metric("x", 10**400), InvalidInputError),
    ("value text", lambda: jt.log_metric("x", "0.5"), TypeError),
    ("value None", lambda: jt.log_metric("x", None), TypeError),
    ("param lone surrogate", lambda: jt.log_param("p", LONE), InvalidInputError),
    ("param key surrogate", lambda: jt.log_param("p" + LONE, 1), InvalidInputError),
    ("tag lone surrogate", lambda: jt.set_tag("t", "a" + LONE), InvalidInputError),
    ("metric key surrogate", lambda: jt.log_metric("m" + LONE, 1.0), InvalidInputError),
    ("artifact name surrogate", lambda: jt.log_text("x", "a" + LONE + ".txt"), InvalidInputError),
    ("log_text surrogate", lambda: jt.log_text("x" + LONE, "a.txt"), UnicodeEncodeError),
]

REFUSED_STARTS = [
    ("run name surrogate", lambda: jt.start_run(name="r" + LONE), InvalidInputError),
    ("experiment surrogate", lambda: jt.start_run(experiment="e" + LONE), InvalidInputError),
    ("params surrogate", lambda: jt.start_run(params={"p": LONE}), InvalidInputError),
    ("tags surrogate", lambda: jt.start_run(tags={"t": LONE}), InvalidInputError),
    ("set_experiment surrogate", lambda: jt.set_experiment("e" + LONE), InvalidInputError),
]


def _still_logs() -> None:
    """The process can still log after a refusal: a new run stores its point."""
    with jt.start_run(name="after") as run:
        jt.log_metric("ok", 1.0)
    assert jt.get_run(run.id).metrics == {"ok": 1.0}


@pytest.mark.parametrize(("what", "call", "error"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_value_that_cannot_be_stored_is_refused_at_the_call(store, what, call, error):
    with jt.start_run(name="before") as run:
        jt.log_metric("x", 0.0)
        with pytest.raises(error):
            call()
        jt.log_metric("x", 2.0)
    stored = jt.get_run(run.id)
    assert stored.status == "FINISHED"
    assert stored.metrics["x"] == 2.0
    assert list(jt.metric_history(run.id, "x")["value"]) == [0.0, 2.0]
    _still_logs()


@pytest.mark.parametrize(
    ("what", "call", "error"), REFUSED_STARTS, ids=[r[0] for r in REFUSED_STARTS]
)
def test_a_bad_name_or_value_starts_no_run(store, what, call, error):
    with pytest.raises(error):
        call()
    assert jt.active_run() is None
    assert len(jt.search_runs()) == 0
    _still_logs()


ACCEPTED_STEPS = [2**63 - 1, -(2**63), 0, 2.0, -5]


@pytest.mark.parametrize("step", ACCEPTED_STEPS)
def test_extreme_steps_round_trip(store, step):
    with jt.start_run() as run:
        jt.log_metric("x", 1.5, step=step)
        jt.log_metric("x", 2.5)  # the next step never overflows
    history = jt.metric_history(run.id, "x")
    assert history["step"].iloc[0] == int(step)
    assert len(history) == 2


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 5e-324, 1.7976931348623157e308])
def test_special_floats_round_trip(store, value):
    with jt.start_run() as run:
        jt.log_metric("x", value)
    (got,) = jt.metric_history(run.id, "x")["value"]
    assert (math.isnan(got) and math.isnan(value)) or got == value


def test_recorded_text_that_is_not_utf8_is_stored_readably(store):
    """Text the tracker records itself (an error's traceback) can hold lone surrogates,
    e.g. from undecodable file names: it is stored with a replacement character."""
    with pytest.raises(ValueError), jt.start_run() as run:
        raise ValueError("bad name " + LONE)
    stored = jt.get_run(run.id)
    assert stored.status == "FAILED" and "bad name \ufffd" in stored.error
    _still_logs()


_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=5),
    st.none(),
)
_STEPS = st.one_of(st.none(), st.integers(min_value=-(2**65), max_value=2**65), st.floats())
_TIMES = st.one_of(st.none(), st.integers(min_value=-(2**65), max_value=2**65), st.floats())
_TEXT = st.text(max_size=20)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_VALUES, step=_STEPS, timestamp=_TIMES, param=_TEXT, tag=_TEXT)
def test_anything_logged_round_trips_or_is_refused_and_logging_goes_on(
    store, value, step, timestamp, param, tag
):
    with jt.start_run() as run:
        try:
            jt.log_metric("m", value, step=step, timestamp=timestamp)
            logged = True
        except (TypeError, ValueError):
            logged = False
        try:
            jt.log_param("p", param)
            param_ok = True
        except ValueError:
            param_ok = False
        try:
            jt.set_tag("t", tag)
            tag_ok = True
        except ValueError:
            tag_ok = False
        jt.log_metric("after", 1.0)
    stored = jt.get_run(run.id)
    assert stored.status == "FINISHED" and stored.metrics["after"] == 1.0
    if logged:
        (point,) = jt.metric_history(run.id, "m").itertuples()
        expected = float(value)
        assert point.value == expected or (math.isnan(point.value) and math.isnan(expected))
        if step is not None:
            assert point.step == int(step)
        if timestamp is not None:
            assert point.timestamp.value // 1_000_000 == int(timestamp)
    else:
        assert "m" not in stored.metrics
    assert (stored.params.get("p") == param) == param_ok or param == ""
    assert (stored.tags.get("t") == tag) == tag_ok

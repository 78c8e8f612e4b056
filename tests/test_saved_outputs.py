"""What a saved notebook keeps of the panels and the run card: the panels' bundles carry their
static view and our MIME type (the lab extension's renderer, labextension/src/panels.ts); each
card output names its run and whether it is final (labextension/src/cards.ts brings a card
left unfinished up to date). The browser side is tests/browser/test_saved_notebooks.py."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import jupyter_tracker as jt
from jupyter_tracker.notebook.card import CARD_METADATA_KEY as CARD_KEY
from jupyter_tracker.panels import PANEL_MIME_TYPE, WIDGET_MIME_TYPE
from jupyter_tracker.panels import comparison as compare_module
from jupyter_tracker.panels import curves as curves_module
from jupyter_tracker.panels import table as table_module

SRC = Path(__file__).resolve().parents[1] / "labextension" / "src"


@pytest.fixture
def frontend(monkeypatch):
    """Pretend outputs reach a notebook frontend (as in a kernel)."""
    for module in (table_module, curves_module, compare_module):
        monkeypatch.setattr(module, "has_frontend", lambda: True)


def two_runs() -> list[str]:
    ids = []
    for i, lr in enumerate((0.1, 0.01)):
        with jt.start_run(name=f"run-{i}", params={"lr": lr}) as run:
            for step in range(5):
                jt.log_metric("loss", math.exp(-lr * step), step=step)
                jt.log_metric("wait", 0.0, step=step)
            ids.append(run.id)
    return ids


def assert_static_view(bundle: dict, model_id: str, text: str) -> None:
    assert bundle[WIDGET_MIME_TYPE]["model_id"] == model_id
    assert bundle[PANEL_MIME_TYPE] == {"model_id": model_id}
    assert text in bundle["text/plain"]
    assert text in bundle["text/html"]


def test_every_widget_panel_carries_its_static_view_and_our_mime_type(store, frontend):
    ids = two_runs()
    table = jt.runs()
    assert_static_view(table._repr_mimebundle_(), table.panel.model_id, "run-1")
    comparison = jt.compare(ids)
    assert_static_view(comparison._repr_mimebundle_(), comparison.model_id, "run-1")
    with jt.start_run(name="live") as run:  # a RUNNING run: jt.plot gives the live widget
        jt.log_metric("loss", 1.0)
        figure = jt.plot([run.id])
        assert_static_view(figure._repr_mimebundle_(), figure.model_id, "loss")
        figure.close()
    table.close()


def test_without_a_frontend_no_mime_type_of_ours(store):
    ids = two_runs()
    assert PANEL_MIME_TYPE not in jt.runs()._repr_mimebundle_()
    assert PANEL_MIME_TYPE not in jt.compare(ids)._repr_mimebundle_()


def test_the_extension_reads_what_python_writes():
    panels = (SRC / "panels.ts").read_text()
    assert f"'{PANEL_MIME_TYPE}'" in panels and f"'{WIDGET_MIME_TYPE}'" in panels
    assert f"'{CARD_KEY}'" in (SRC / "cards.ts").read_text()


# -- the run card -------------------------------------------------------------------------


def card_outputs(ip, cell: str) -> list[dict]:
    """Every display the card made while ``cell`` ran: (data, metadata) as published."""
    published = []
    pub = ip.display_pub

    def record(data, metadata=None, **kwargs):
        published.append({"data": data, "metadata": metadata or {}, **kwargs})

    original, pub.publish = pub.publish, record
    try:
        ip.run_cell(cell)
    finally:
        pub.publish = original
    return [p for p in published if CARD_KEY in p["metadata"]]


def test_every_card_output_names_its_run_and_whether_it_is_final(ip, monkeypatch):
    from jupyter_tracker.notebook import magics

    monkeypatch.setattr(magics, "_has_frontend", lambda shell: True)
    outputs = card_outputs(ip, "%%track_run --name carded\nimport time\ntime.sleep(0.8)\n")
    assert len(outputs) >= 2  # shown, refreshed while it ran, then the final state
    run_id = jt.search_runs()["run_id"][0]
    first, last = outputs[0]["metadata"][CARD_KEY], outputs[-1]["metadata"][CARD_KEY]
    assert first == {"run_id": run_id, "status": "RUNNING", "final": False}
    assert last == {"run_id": run_id, "status": "FINISHED", "final": True}
    assert "FINISHED" in outputs[-1]["data"]["text/html"]
    assert outputs[-1]["data"]["text/plain"].startswith("run carded")


def test_the_stored_card_is_the_kernels_final_card(ip, monkeypatch):
    from jupyter_tracker.notebook import magics
    from jupyter_tracker.notebook.card import stored_card
    from jupyter_tracker.tracking import current_store

    monkeypatch.setattr(magics, "_has_frontend", lambda shell: True)
    cell = "%%track_run lr=0.5 --name same\nimport jupyter_tracker as jt\n"
    cell += "for i in range(30):\n    jt.log_metric('loss', 1 / (i + 1))\n"
    kernel_card = card_outputs(ip, cell)[-1]
    run_id = kernel_card["metadata"][CARD_KEY]["run_id"]
    served = stored_card(current_store(), run_id).output()
    assert served["metadata"] == kernel_card["metadata"]
    assert served["data"] == kernel_card["data"]
    assert "polyline" in served["data"]["text/html"]  # the curve from the stored history

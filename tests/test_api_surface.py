"""The package's shape: a small documented public API, fast and framework-free imports."""

from __future__ import annotations

import json
import subprocess
import sys

import jupyter_tracker as jt

HEAVY = ("pandas", "plotly", "ipywidgets", "IPython", "sqlite_utils", "numpy", "tornado")
# autolog's
FRAMEWORKS = ("sklearn", "lightgbm", "xgboost", "keras", "torch", "lightning", "transformers")


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in json.loads(out.stdout)}


def test_import_pulls_in_no_heavy_library():
    loaded = _modules_after("import jupyter_tracker")
    assert not loaded & {*HEAVY, *FRAMEWORKS}


def test_the_core_imports_no_framework_even_when_used(tmp_path):
    jt.set_store(tmp_path / "s")  # creating a store runs migrations (sqlite-utils, pandas)
    loaded = _modules_after(
        "import jupyter_tracker as jt\n"
        f"jt.set_store({str(tmp_path / 's')!r})\n"
        "with jt.start_run():\n"
        "    jt.log_param('a', 1); jt.log_metric('m', 1.0); jt.set_tag('t', 'x')\n"
        "jt.get_run(jt.last_active_run().id)\n"
    )
    assert not loaded & {"IPython", "ipywidgets", "plotly", "tornado", "jupyter_server"}
    assert "pandas" not in loaded  # logging into a store and get_run need no DataFrame


def test_every_public_name_is_documented():
    assert sorted(jt.__all__) == sorted(set(jt.__all__))
    for name in jt.__all__:
        obj = getattr(jt, name)
        assert (obj.__doc__ or "").strip(), f"jupyter_tracker.{name} has no docstring"

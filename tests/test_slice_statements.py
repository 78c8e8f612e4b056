"""The statement-level dependency slice: which statements of earlier cells a tracked cell
needs, and the exported script built from them."""

from __future__ import annotations

import json

import pytest

from jupyter_tracker.capture.ipython import to_python
from jupyter_tracker.capture.slice import dependency_slice
from jupyter_tracker.export._code import build


def kept(history: list[str], source: str) -> dict[int, list[str]]:
    """The statements the slice keeps, by execution count (the tracked cell comes last)."""
    result = dependency_slice(["", *history], len(history) + 1, source)
    json.dumps(result)
    return {c["execution_count"]: c["statements"] for c in result["cells"]}


def script_of(history: list[str], source: str, params: dict, inputs=()) -> str:
    """train.py for a hand-made run of ``source`` after ``history``."""
    count = len(history) + 1
    detail = {
        "run_id": "0" * 32,
        "name": "run",
        "experiment": "Default",
        "tags": {},
        "notebook": None,
        "source": source,
        "typed_params": {k: (repr(v), type(v).__name__) for k, v in params.items()},
        "capture": {
            "execution_count": count,
            "dependency_slice": dependency_slice(["", *history], count, source),
            "inputs": list(inputs),
        },
    }
    return build(detail, "test").text


ISSUE = [
    "import numpy as np\nimport jupyter_tracker as jt",
    "X = np.arange(6.0)\ny = 2 * X",
    "%%track_run lr=0.05 alpha=1e-4 epochs=20\n"
    "w = 0.0\n"
    "for epoch in range(epochs):\n"
    "    w -= lr * (np.mean((w * X - y) * X) + alpha * w)\n"
    "    jt.log_metric('loss', float(np.mean((w * X - y) ** 2)))\n"
    "print('trained', w)\n",
]
SWEEP = (
    "%%track_sweep alpha=1e-4,1e-3 lr=0.05,0.1\n"
    "w = 0.0\n"
    "for epoch in range(epochs):\n"
    "    w -= lr * (np.mean((w * X - y) * X) + alpha * w)\n"
    "    jt.log_metric('loss', float(np.mean((w * X - y) ** 2)))\n"
)


def test_an_earlier_tracked_cell_gives_only_the_param_read_from_it():
    result = dependency_slice(["", *ISSUE], 4, SWEEP)
    by_count = {c["execution_count"]: c for c in result["cells"]}
    assert by_count[3]["statements"] == ["epochs = 20"]  # never its loop, logging or print
    assert by_count[3]["provides"] == ["epochs"] and by_count[3]["total"] == 6
    assert by_count[3]["source"] == ISSUE[2]  # the whole cell, for display
    assert by_count[1]["statements"] == ["import numpy as np", "import jupyter_tracker as jt"]
    assert result["names"] == {"X": 2, "epochs": 3, "jt": 1, "np": 1, "y": 2}


def test_the_script_applies_the_runs_params_after_the_slice_and_before_the_cell():
    inputs = [
        {"name": "epochs", "execution_count": 3, "cell_id": None, "value": "20", "param": True}
    ]
    text = script_of(ISSUE, SWEEP, {"alpha": 0.001, "lr": 0.1, "epochs": 20}, inputs)
    code = text[text.index("tracker.start_run(") :]
    assert code.count("for epoch in range(epochs)") == 1  # the sweep's own loop only
    assert "print('trained'" not in code and "lr = 0.05" not in code
    order = [
        "epochs = 20",
        "alpha = PARAMS['alpha']",
        "lr = PARAMS['lr']",
        "epochs = PARAMS['epochs']  # read from In [3]",
        "for epoch in range(epochs)",
    ]
    assert [code.index(line) for line in order] == sorted(code.index(line) for line in order)
    assert "default='0.001'" in text and "default='0.1'" in text  # the child's own values
    assert "1 of 6 statements" in code


def test_functions_and_classes_bring_what_their_bodies_read():
    net = (
        "class Net:\n"
        "    size = width  # read now\n"
        "    def forward(self, x):\n"
        "        return act(x) * self.size  # read when called"
    )
    history = [
        "import numpy as np\nimport os\nimport math as m",
        "k = 2\nunused = 3\ndef helper(v):\n    return v + k",
        "def f(x):\n    return np.sqrt(x) * helper(x)\nnot_needed = f(4)",
        "width = 3\nprint('set up')",
        net,
        "def act(x):\n    return m.floor(x)\nact_unused = 1",
    ]
    source = "%%track_run\nout = f(9) + Net().forward(2.5)"
    assert kept(history, source) == {
        1: ["import numpy as np", "import math as m"],  # not os
        2: ["k = 2", "def helper(v):\n    return v + k"],
        3: ["def f(x):\n    return np.sqrt(x) * helper(x)"],
        4: ["width = 3"],
        5: [net],
        6: ["def act(x):\n    return m.floor(x)"],
    }
    text = script_of(history, source, {})
    namespace: dict = {}
    exec(text[text.index("# ---- In [1]") : text.index("tracker.end_run()")], namespace)
    assert namespace["out"] == 3 * (9 + 2) + 2 * 3  # sqrt(9) * helper(9) + floor(2.5) * 3


def test_the_free_names_of_a_function_are_traced_from_where_it_is_called():
    history = ["def f():\n    return k", "k = 1\nfirst = f()", "k = 2"]
    first = kept(history, "%%track_run\nprint(first)")
    assert first == {1: [history[0]], 2: ["k = 1", "first = f()"]}
    assert kept(history, "%%track_run\nprint(f())") == {1: [history[0]], 3: ["k = 2"]}


def test_a_name_changed_after_its_definition_keeps_every_change():
    history = [
        "df = {'a': 0}\nother = 1",
        "df['b'] = 2\nlog = []\nlog.append('x')\nlog.copy()",
        "total = 0\nfor v in df.values():\n    total += v",
        "total += 10\ndel df['a']\nprint(df)",
        "class Model:\n    def fit(self, d):\n        self.seen = len(d)\nmodel = Model()",
        "model.fit(df)\nhistory = model.fit(df)\nmodel.describe_me = 1",
    ]
    slice_ = kept(history, "%%track_run\nprint(df, log, total, model.seen)")
    assert slice_[1] == ["df = {'a': 0}"]
    assert slice_[2] == ["df['b'] = 2", "log = []", "log.append('x')"]  # copy() only looks
    assert slice_[3] == ["total = 0", "for v in df.values():\n    total += v"]
    assert slice_[4] == ["total += 10", "del df['a']"]
    assert slice_[6] == history[5].split("\n")


def test_a_later_definition_replaces_an_earlier_one():
    history = ["lr = 0.1\nseed = 1", "lr = 0.2", "scale = 2\nX = [lr * scale]", "scale = 3"]
    assert kept(history, "%%track_run\nprint(lr)") == {2: ["lr = 0.2"]}
    slice_ = kept(history, "%%track_run\nprint(X, scale)")
    assert slice_ == {2: ["lr = 0.2"], 3: ["scale = 2", "X = [lr * scale]"], 4: ["scale = 3"]}


def test_a_name_bound_only_on_some_paths_keeps_the_earlier_definition():
    history = [
        "x = 0\ny = 0\nflag = True",
        "if flag:\n    x = 1\nif flag:\n    y = 1\nelse:\n    y = 2",
    ]
    assert kept(history, "%%track_run\nprint(x, y)") == {
        1: ["x = 0", "flag = True"],  # y = 0 is not needed: both branches set y
        2: ["if flag:\n    x = 1", "if flag:\n    y = 1\nelse:\n    y = 2"],
    }


@pytest.mark.parametrize("magic", ["debug", "time", "capture out", "prun"])
def test_the_body_of_a_python_cell_magic_is_sliced_and_exported_as_code(magic):
    history = [f"%%{magic}\nbase = 3\nnoise = 4\n"]
    assert kept(history, "%%track_run\nprint(base)") == {1: ["base = 3"]}
    text = script_of(history, "%%track_run\nprint(base)", {})
    assert f"# %%{magic}  (IPython only; its body runs as plain Python)\nbase = 3\n" in text
    assert "noise" not in text


def test_shell_lines_and_line_magics_stay_only_when_they_define_a_needed_name():
    history = ["%matplotlib inline\nfiles = !ls\n!echo hello\n%time n = len(files)\nx = 1"]
    assert kept(history, "%%track_run\nprint(files, n)") == {
        1: [
            "files = get_ipython().getoutput('ls')",
            "get_ipython().run_line_magic('time', 'n = len(files)')",
        ]
    }
    text = script_of(history, "%%track_run\nprint(files, n)", {})
    assert "files = None  # skipped (IPython only): files = !ls" in text
    assert "n = len(files)  # was: %time" in text
    assert "echo hello" not in text and "matplotlib" not in text


def test_the_kernels_transformed_history_is_sliced_the_same():
    history = ["%matplotlib inline\nfiles = !ls\n!echo hello\nx = 1"]
    transformed = [to_python(text) for text in history]
    source = "%%track_run\nprint(files)"
    assert kept(history, source) == kept(transformed, source)


def test_a_cell_with_an_opaque_statement_is_kept_whole():
    history = ["from math import *\nx = 1\ny = 2", "exec('z = 3')\nunused = 1"]
    result = dependency_slice(["", *history], 3, "%%track_run\nprint(x, sqrt(4), z)")
    assert {c["execution_count"]: c["statements"] for c in result["cells"]} == {
        1: ["from math import *", "x = 1", "y = 2"]
    }
    assert result["opaque"] == [
        {"execution_count": 1, "what": ["from math import *"], "whole": True},
        {"execution_count": 2, "what": ["exec()"], "whole": False},
    ]
    assert result["unresolved"] == ["sqrt", "z"]


def test_seeds_are_kept_and_module_calls_are_not_changes():
    history = [
        "import numpy as np\nimport jupyter_tracker as jt\nimport matplotlib.pyplot as plt",
        "np.random.seed(0)\nplt.plot([1, 2])\njt.log_metric('m', 1.0)\nnp.set_printoptions(3)",
    ]
    assert kept(history, "%%track_run\nprint(np.random.rand())") == {
        1: ["import numpy as np"],
        2: ["np.random.seed(0)"],
    }


def test_a_function_defined_in_the_session_changes_what_it_is_given_and_its_globals():
    history = [
        "class Model:\n    trained = False\nmodel = Model()\nlosses = []",
        "def train(m):\n    m.trained = True\n    losses.append(1)\n"
        "def setup():\n    global CONFIG\n    CONFIG = {'a': 1}",
        "train(model)\nsetup()\nprint('unrelated')",
    ]
    slice_ = kept(history, "%%track_run\nprint(model.trained, losses, CONFIG)")
    assert slice_[3] == ["train(model)", "setup()"]


def test_a_function_changes_only_the_arguments_its_body_changes():
    """The notebooks/quickstart.ipynb pattern: train(X, y, lr, epochs) only reads X and y, so
    the earlier tracked cells that called it (one with lr=500, which raised) stay out."""
    history = [
        "import numpy as np\nX = np.ones((4, 2))\ny = np.zeros(4)\nlog = []",
        "def train(X, y, lr, epochs):\n    w = np.zeros(X.shape[1])\n    w -= lr * X.T @ y\n"
        "    return w\n"
        "def scale(X, *, by):\n    X *= by\n"
        "def record(entry, into):\n    keep(into, len(entry))\n"
        "def keep(where, what):\n    where.append(what)\n"
        "class Holder:\n    def __init__(self, items):\n        items.clear()",
        "%%track_run lr=5e2 epochs=200\nw = train(X, y, lr, epochs)",
        "scale(y, by=2)\nrecord(X, log)\nHolder(log)\ntrain(y, X, 1, 2)",
    ]
    sweep = kept(history, "%%track_sweep lr=0.1,0.5 epochs=100\nw = train(X, y, lr, epochs)")
    assert sweep[1] == ["import numpy as np", "X = np.ones((4, 2))", "y = np.zeros(4)"]
    assert [text.split("(")[0] for text in sweep[2]] == ["def train", "def scale"]
    assert 3 not in sweep and sweep[4] == ["scale(y, by=2)"]  # X *= by: changed in place
    slice_ = kept(history, "%%track_run\nprint(log)")
    assert slice_[4] == ["record(X, log)", "Holder(log)"]  # passed on, and changed by __init__


def test_a_constant_given_to_a_function_is_not_changed_by_it():
    """The notebooks/reproduce.ipynb pattern: the training is a function of the session."""
    history = [
        "import jupyter_tracker as jt\ndef train(lr, epochs):\n    jt.log_metric('e', epochs)",
        "%%track_run lr=0.05 epochs=20\ntrain(lr, epochs)\nsteps = 2 ** 4\ntrain(lr, steps)",
    ]
    assert kept(history, "%%track_sweep lr=0.1,0.2\ntrain(lr, epochs + steps)")[2] == [
        "epochs = 20",
        "steps = 2 ** 4",
    ]


def test_a_whole_cell_without_kept_statements_is_exported_for_runs_recorded_before():
    slice_ = dependency_slice(["", *ISSUE], 4, SWEEP)
    for cell in slice_["cells"]:
        del cell["statements"], cell["total"]
    detail = {
        "run_id": "0" * 32,
        "name": "old",
        "experiment": "Default",
        "tags": {},
        "notebook": None,
        "source": SWEEP,
        "typed_params": {"alpha": ("0.001", "float"), "lr": ("0.1", "float")},
        "capture": {"execution_count": 4, "dependency_slice": slice_},
    }
    code = build(detail, "test").text
    assert code.count("for epoch in range(epochs)") == 2  # as recorded: whole cells
    assert code.index("lr = 0.05") < code.index("lr = PARAMS['lr']")  # still applied last

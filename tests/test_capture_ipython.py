"""IPython syntax read without IPython: the conversion, the cell magics whose body is Python,
and the magic line, shared by the dependency slice and the export."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jupyter_tracker.capture.ipython import PYTHON_BODY_MAGICS, to_python
from jupyter_tracker.capture.magic_line import parse_run_line, parse_sweep_line
from jupyter_tracker.capture.scope import names_defined, names_read
from jupyter_tracker.errors import InvalidInputError
from jupyter_tracker.export._code import convert

CELLS = [
    "x = y + 1",
    "%time x = f(y)",
    "%matplotlib inline\n!pip list\nfiles = !ls\nprint(files, folder)",
    "%%time\nresult = fit(X)",
    "%%bash\necho $HOME > out.txt",
    "%%track_run alpha=0.5 lr=[1e-3, 1e-2] --name base --tag stage=dev\nloss = alpha * lr[0]",
    "%%foo?",
    "%% foo",
    "  %%time\n  x = 1",
    "import os\nfiles = !ls\nfor f in files or []:\n    !echo {f}\nx = %env HOME\n",
    "a, b = 1, 2; x = get_ipython().user_ns\n%time c = a + b\n",
    "data = [scale(i) for i in range(4)]\nif data:\n    %pwd\n",
    "class A:\n    %time x = 1\n",
    "for i in range(3):\n    x = !echo {i}\n",
    "if x:\n    y = %time 3\nelse:\n    z = !pwd",
    # special syntax only at the start of a logical line, never in strings or brackets
    "x = (\n%ls\n",
    "x = (1,\n%2)\n",
    "lst = [\n  1,  # %x\n  2]\n%y",
    "s = '''\n%notmagic\n!notshell\n'''\n%real",
    '"""doc\n!x\n"""\n!y',
    "x = 'a\\\nb'\n%m",
    "r'\\'' \n%m",
    "x = 'it\\'s' ; y = 1\n%m",
    "x = '''a\nb''' ; %c",
    "print(1)  # !ls\n!ls",
    "y = 5 % 2\nprint('%d' % y)",
    "a != b",
    "a %= b\n%= 3",
    "x == %foo",
    "x <= !foo",
    "f(x=%foo)",
    "x = y = %foo",
    "x = f'{a}' + %m",
    "x = %1",
    # assignments from magics and shell commands
    "d['a=b'] = %who_ls",
    "x: int = %foo 1",
    "a[0] = !ls",
    "y = !!ls",
    "x=%time\ty",
    "é = %time 1",
    # backslash continuation
    "%time a = \\\n  b + 1",
    "!echo a \\\n  b",
    "x = %env \\\n HOME",
    "a = b \\\n  = %c",
    # help, escapes, shell capture, indentation and blank lines
    "obj?",
    "obj.attr??",
    "%time?",
    "?obj",
    "??obj",
    "?",
    "x = 1 # what?",
    "x = 'what?'",
    "!!ls -l",
    ",f a b",
    ";f a b",
    "/f a b",
    "/",
    "%",
    "!",
    "  x = 1\n  %time y\n",
    "\n\n x=1\n",
    "x = 1\n\n\n%y z  ",
]


@pytest.mark.parametrize("source", CELLS)
def test_to_python_reads_ipython_syntax_as_ipython_does(source):
    from IPython.core.inputtransformer2 import TransformerManager

    expected = TransformerManager().transform_cell(source)
    assert to_python(source) == expected
    assert to_python(expected) == expected  # the kernel's In can be given again


def test_capture_and_export_import_without_ipython():
    code = (
        "import sys\n"
        "import jupyter_tracker.capture.environment, jupyter_tracker.capture.git\n"
        "import jupyter_tracker.capture.ipython, jupyter_tracker.capture.location\n"
        "import jupyter_tracker.capture.magic_line, jupyter_tracker.capture.scope\n"
        "import jupyter_tracker.capture.slice, jupyter_tracker.export\n"
        "from jupyter_tracker.capture.slice import dependency_slice\n"
        "from jupyter_tracker.export._code import convert\n"
        "cell = '%%time\\nfiles = !ls\\n%time x = 1\\n'\n"
        "dependency_slice(['', cell], 2, '%%track_run a=1\\nprint(files, x)')\n"
        "convert(cell)\n"
        "print([m for m in ('IPython', 'ipywidgets', 'pandas', 'plotly') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- cell magics

LINES = {"track_run": "alpha=2 --name n", "track_sweep": "alpha=1,2 --quiet", "capture": "out"}


def defined_by_the_script(source: str) -> set[str]:
    namespace: dict = {}
    exec(convert(source).script, namespace)
    return set(namespace) - {"__builtins__"}


@pytest.mark.parametrize("magic", sorted(PYTHON_BODY_MAGICS))
def test_slice_and_export_agree_on_every_magic_whose_body_is_python(magic):
    source = f"%%{magic} {LINES.get(magic, '')}\nvalue = 40 + 2\nprint(value)\n"
    for text in (source, to_python(source)):  # as typed, and as the kernel's In keeps it
        defined = names_defined(text)
        assert "value" in defined
        assert defined_by_the_script(text) == defined


@pytest.mark.parametrize("magic", ["bash", "html", "writefile", "timeit", "script"])
def test_other_cell_magics_define_nothing_in_the_slice_or_the_export(magic):
    source = f"%%{magic} out.txt\nvalue = 40 + 2\n"
    assert names_defined(source) == set() and names_read(source) == set()
    assert defined_by_the_script(source) == set()
    assert f"# %%{magic} out.txt  (skipped: IPython only)" in convert(source).script


def test_a_debug_body_defines_its_names_for_the_slice_and_the_export():
    source = "%%debug\nbase = 3\n"
    assert names_defined(source) == {"base"}
    script = convert(source).script
    assert "\nbase = 3\n" in script and "skipped" not in script


def test_a_sweep_leaves_the_params_of_its_last_run():
    source = "%%track_sweep alpha=0.1,0.5 opt=['a','b'] --metric loss\nscore = alpha\n"
    script = convert(source).script
    assert "alpha = 0.5\nopt = 'b'\nscore = alpha\n" in script
    assert names_defined(source) == {"alpha", "opt", "score"}


def test_capture_output_is_defined_after_the_body():
    source = "%%capture --no-stderr out\nvalue = 1\n"
    assert names_defined(source) == {"out", "value"}
    assert convert(source).script.endswith(
        "value = 1\nout = None  # the output %%capture kept exists only in IPython\n"
    )


def test_a_refused_magic_line_sets_no_params():
    for source in ("%%track_run alpha=1 --bogus\nx = 1\n", "%%track_sweep --quiet\nx = 1\n"):
        assert names_defined(source) == {"x"}
        assert "alpha = 1" not in convert(source).script


# --------------------------------------------------------------------------- magic line


def test_run_line_params_tags_and_options():
    params, tags, options = parse_run_line(
        "alpha=0.5 lr=[1e-3, 1e-2] opt='a b' --name \"my run\" --tag stage=dev --quiet"
    )
    assert params == {"alpha": 0.5, "lr": [1e-3, 1e-2], "opt": "a b"}
    assert tags == {"stage": "dev"}
    assert options == {"name": "my run", "quiet": True}


def test_sweep_line_values():
    grid, _, options = parse_sweep_line("alpha=0.1,0.5 lr=[1e-3,1e-2] opt='a,b',c --maximize")
    assert grid == {"alpha": [0.1, 0.5], "lr": [1e-3, 1e-2], "opt": ["a,b", "c"]}
    assert options == {"maximize": True}


@pytest.mark.parametrize(
    ("parse", "line", "message"),
    [
        (parse_run_line, "lr=[1, 2", "Unbalanced"),
        (parse_run_line, "--metric loss", "Unknown option --metric"),
        (parse_run_line, "1a=2", "not a Python name"),
        (parse_sweep_line, "--quiet", "at least one parameter list"),
        (parse_sweep_line, "alpha=1,,2", "empty value"),
    ],
)
def test_a_broken_magic_line_is_a_clear_error(parse, line, message):
    with pytest.raises(InvalidInputError, match=message):
        parse(line)

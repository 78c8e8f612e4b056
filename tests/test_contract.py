"""The lab extension's TypeScript shapes (`tokens.ts`) mirror the TypedDicts of `model.py`."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from jupyter_tracker import model
from jupyter_tracker.model import STATUSES

SRC = Path(__file__).resolve().parents[1] / "labextension" / "src"
TOKENS = SRC / "tokens.ts"

COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
INTERFACE = re.compile(r"export interface I(\w+)(?:\s+extends\s+I(\w+))?\s*\{([^{}]*)\}")
FIELD = re.compile(r"(\w+)(\??)\s*:\s*([^;]+);")
BRACKETED = re.compile(r"<[^<>]*>|\[[^\[\]]*\]|\([^()]*\)")

# A field as both sides declare it: (may the key be absent, may the value be null).
Field = tuple[bool, bool]


def _nullable_ts(type_text: str) -> bool:
    """Whether a TypeScript type admits null at its top level (not inside `Record<..>` etc.)."""
    while BRACKETED.search(type_text):
        type_text = BRACKETED.sub("", type_text)
    return "null" in (part.strip() for part in type_text.split("|"))


def ts_shapes(source: str) -> dict[str, dict[str, Field]]:
    """`export interface IName [extends IBase] { field?: type; }` blocks, by Python name."""
    found: dict[str, tuple[str | None, dict[str, Field]]] = {}
    for name, base, body in INTERFACE.findall(COMMENT.sub("", source)):
        fields = {f: (bool(q), _nullable_ts(t)) for f, q, t in FIELD.findall(body)}
        found[name] = (base or None, fields)

    def resolved(name: str) -> dict[str, Field]:
        base, fields = found[name]
        return {**(resolved(base) if base in found else {}), **fields}

    return {name: resolved(name) for name in found}


def python_shapes() -> dict[str, dict[str, Field]]:
    """Every TypedDict declared in `jupyter_tracker.model`, inherited keys included."""
    shapes = {}
    for name, cls in vars(model).items():
        if typing.is_typeddict(cls) and cls.__module__ == model.__name__:
            hints = typing.get_type_hints(cls)
            shapes[name] = {
                key: (key in cls.__optional_keys__, type(None) in typing.get_args(hint))
                for key, hint in hints.items()
            }
    return shapes


def drift(python: dict[str, dict[str, Field]], ts: dict[str, dict[str, Field]]) -> list[str]:
    """Every difference between the two declarations, one line each."""
    problems = [
        f"model.{name} has no `export interface I{name}` in tokens.ts"
        for name in sorted(python.keys() - ts.keys())
    ]
    problems += [
        f"tokens.ts's I{name} has no TypedDict {name} in model.py"
        for name in sorted(ts.keys() - python.keys())
    ]
    for name in sorted(python.keys() & ts.keys()):
        py_fields, ts_fields = python[name], ts[name]
        missing, extra = py_fields.keys() - ts_fields.keys(), ts_fields.keys() - py_fields.keys()
        problems += [f"I{name} lacks field {f!r} of model.{name}" for f in sorted(missing)]
        problems += [f"I{name}.{f} is not a field of model.{name}" for f in sorted(extra)]
        for f in sorted(py_fields.keys() & ts_fields.keys()):
            (py_optional, py_null), (ts_optional, ts_null) = py_fields[f], ts_fields[f]
            if py_optional != ts_optional:
                want = "optional (`?`)" if py_optional else "required (no `?`)"
                problems.append(f"I{name}.{f} should be {want} as in model.{name}")
            if py_null != ts_null:
                want = "`| null`" if py_null else "no `| null`"
                problems.append(f"I{name}.{f} should have {want} as in model.{name}")
    return problems


def test_tokens_ts_mirrors_model_py():
    problems = drift(python_shapes(), ts_shapes(TOKENS.read_text(encoding="utf-8")))
    assert not problems, "tokens.ts has drifted from model.py:\n" + "\n".join(problems)


def test_a_drift_is_named():
    source = TOKENS.read_text(encoding="utf-8")
    drifted = source.replace("  limit: number;\n", "").replace(
        "rerun_of: string | null;", "rerun_of?: string;"
    )
    drifted = drifted.replace("export interface IExperimentList", "export interface IExperiments")
    assert sorted(drift(python_shapes(), ts_shapes(drifted))) == [
        "IRunDetail.rerun_of should be required (no `?`) as in model.RunDetail",
        "IRunDetail.rerun_of should have `| null` as in model.RunDetail",
        "IRunPage lacks field 'limit' of model.RunPage",
        "IRunRecord.rerun_of should be required (no `?`) as in model.RunRecord",
        "IRunRecord.rerun_of should have `| null` as in model.RunRecord",
        "model.ExperimentList has no `export interface IExperimentList` in tokens.ts",
        "tokens.ts's IExperiments has no TypedDict Experiments in model.py",
    ]


def test_the_extension_receives_the_statuses_rather_than_copying_them():
    for path in sorted(SRC.glob("*.ts")):
        text = path.read_text(encoding="utf-8")
        copied = [s for s in STATUSES if re.search(rf"""['"`]{s}['"`]""", text)]
        assert not copied, f"{path.name} spells statuses {copied}: use IRunPage.statuses"

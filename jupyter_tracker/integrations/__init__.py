"""Autologging: what ``jt.autolog()`` patches and where what it records goes.

Each framework has a module here named after its package (``sklearn``, ``lightgbm``,
``xgboost``, ``keras``, ``lightning``, ``transformers``) with MLflow's ``autolog(...)`` for
that flavor and a ``patch(module)`` that wraps the framework's training calls. Nothing
imports a framework: a flavor is patched when the framework's module with its training calls
is imported (an import hook on ``sys.meta_path``), or at once if it already was. Only the
outermost training call is recorded (a pipeline's steps, a search's candidates and a
cross-validation's folds are part of it), into the active run, else into a run started for
the call and ended with it. Recording never breaks training: a failure to record is one line
on stderr.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import inspect
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .._limits import MAX_PARAM_VALUE_LENGTH
from ..errors import InvalidInputError, OutOfScopeError
from ..run import ActiveRun, error_text, outcome
from ..session import session
from ..values import param_text

# flavor (MLflow's name) -> the modules whose import patches it (each, when imported); the
# flavor's module here is named after the first one's package
FLAVORS = {
    "sklearn": ("sklearn",),
    "lightgbm": ("lightgbm",),
    "xgboost": ("xgboost",),
    "keras": ("keras",),
    "pytorch": ("lightning.pytorch", "pytorch_lightning"),  # Lightning, its standalone package
    "transformers": ("transformers.trainer",),
}


@dataclass
class Settings:
    """How a flavor records (MLflow's ``autolog`` arguments that apply here)."""

    disable: bool = False
    exclusive: bool = False
    silent: bool = False
    extra_tags: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # flavor-specific (max_tuning_runs...)


class _State:
    """Which flavors record and how, what was patched (to undo it), and how deep in a
    recorded call this process is (nested training calls are part of the outer one)."""

    def __init__(self) -> None:
        self.settings: dict[str, Settings] = {}
        self.patched: dict[str, list[tuple[Any, str, Any]]] = {}
        self.modules: dict[str, set[str]] = {}  # flavor -> the modules patched for it
        self.depth = 0
        self.lock = threading.Lock()
        self.warned: set[str] = set()


_STATE = _State()


def settings(flavor: str) -> Settings | None:
    """The flavor's settings while it records, else None."""
    found = _STATE.settings.get(flavor)
    return None if found is None or found.disable else found


def configure(
    flavor: str,
    patch: Callable[[Any], None],
    disable: bool,
    exclusive: bool,
    silent: bool,
    extra_tags: dict[str, str] | None,
    **options: Any,
) -> None:
    """Record ``flavor`` with these settings of its ``autolog`` (or stop, with ``disable``;
    ``options``: its own): ``patch`` is called with the framework's module once it is
    imported."""
    chosen = Settings(disable, exclusive, silent, dict(extra_tags or {}), options)
    _check_out_of_scope(chosen.options)
    _STATE.settings[flavor] = chosen
    if chosen.disable:
        unpatch(flavor)
        return
    for name in FLAVORS[flavor]:
        if name not in _STATE.modules.get(flavor, ()):
            _when_imported(name, lambda module: _patched(flavor, patch, module))


def _check_out_of_scope(options: dict[str, Any]) -> None:
    if options.get("registered_model_name") is not None:
        raise OutOfScopeError("autolog(registered_model_name=...) (the model registry)")


def _patched(flavor: str, patch: Callable[[Any], None], module: Any) -> None:
    done = _STATE.modules.setdefault(flavor, set())
    if module.__name__ in done:
        return
    done.add(module.__name__)
    _STATE.patched.setdefault(flavor, [])
    try:
        patch(module)
    except Exception as exc:
        unpatch(flavor)
        say(f"autolog could not patch {module.__name__}: {exc}", flavor)


def replace(flavor: str, owner: Any, name: str, wrap: Callable[[Any], Any]) -> None:
    """Replace ``owner.name`` (a function, or the function of a descriptor with ``fn``
    such as scikit-learn's ``available_if``) by ``wrap(original)``; ``unpatch`` undoes it."""
    own = not isinstance(owner, type) or name in owner.__dict__  # else inherited
    current = owner.__dict__[name] if isinstance(owner, type) and own else getattr(owner, name)
    if hasattr(current, "fn") and callable(current.fn):  # available_if and the like
        original = current.fn
        current.fn = wrap(original)
        _STATE.patched[flavor].append((current, "fn", original))
        return
    setattr(owner, name, wrap(current))
    _STATE.patched[flavor].append((owner, name, current if own else None))


def recorded_call(flavor: str, record: Callable[..., Any], first: str) -> Callable[[Any], Any]:
    """A wrapper for ``replace``: the framework's call runs as it is unless ``flavor``
    records and this is the outermost training call; then ``record(chosen settings, the
    original, its argument named ``first``, the other positional arguments, the keyword
    arguments)`` makes it and records it."""

    def wrap(original: Any) -> Any:
        @functools.wraps(original)
        def call(*args: Any, **kwargs: Any) -> Any:
            chosen = settings(flavor)
            if chosen is None or (not args and first not in kwargs):
                return original(*args, **kwargs)
            with outermost() as outer:
                if not outer:
                    return original(*args, **kwargs)
                head, rest = (args[0], args[1:]) if args else (kwargs.pop(first), ())
                return record(chosen, original, head, rest, kwargs)

        return call

    return wrap


def unpatch(flavor: str) -> None:
    """Put back what ``flavor``'s patch replaced (an inherited method: inherited again)."""
    _STATE.modules.pop(flavor, None)
    for owner, name, original in reversed(_STATE.patched.pop(flavor, [])):
        if original is None:
            delattr(owner, name)
        else:
            setattr(owner, name, original)


@contextmanager
def outermost() -> Iterator[bool]:
    """True for the outermost recorded training call of the process (in any thread: a
    cross-validation's folds fitted by worker threads are part of it), False inside one."""
    with _STATE.lock:
        first = _STATE.depth == 0
        _STATE.depth += 1
    try:
        yield first
    finally:
        with _STATE.lock:
            _STATE.depth -= 1


@contextmanager
def training_run(chosen: Settings, params: dict[str, Any]) -> Iterator[ActiveRun | None]:
    """The run a training call records into: the active run (None with ``exclusive``), a
    child of it when ``params`` differ from what it already has (a second model fitted in
    the same cell), else a run started for the call, which ends with it (FAILED if it
    raises)."""
    own = session()
    active = own.active_run()
    if active is not None and chosen.exclusive:
        yield None
        return
    if active is not None and not _conflicts(active, params):
        yield active
        return
    run = own.start(nested=active is not None)
    for key, value in chosen.extra_tags.items():
        run.set_tag(key, value)
    try:
        yield run
    except BaseException as exc:
        run.end(outcome(exc), error=error_text(exc))
        raise
    run.end("FINISHED")


def _conflicts(run: ActiveRun, params: dict[str, Any]) -> bool:
    return any(
        key in run.params and param_text(run.params[key])[0] != param_text(value)[0]
        for key, value in params.items()
    )


def param_value(value: Any) -> Any:
    """A param as autolog logs it: the value, or its text cut to MLflow's 6000 characters
    (as MLflow's autolog does) when longer."""
    if value is None or isinstance(value, (str, int, float, bool)):
        text = value if isinstance(value, str) else None
    else:
        text = str(value)
    if text is not None and len(text) > MAX_PARAM_VALUE_LENGTH:
        return text[: MAX_PARAM_VALUE_LENGTH - 3] + "..."
    return value if text is None or isinstance(value, str) else text


def log_params(run: ActiveRun, params: dict[str, Any]) -> None:
    """Log ``params`` (as ``param_value`` gives them) that the run lacks. One that cannot be
    stored (a key with characters MLflow refuses, from a label name say) is left out, not
    the rest; then one error names those left out."""
    refused = []
    for key, value in params.items():
        if key not in run.params:
            try:
                run.log_param(key, param_value(value))
            except InvalidInputError:
                refused.append(key)
    if refused:
        raise InvalidInputError(
            f"{len(refused)} param(s) not logged, their keys cannot be stored: "
            + ", ".join(repr(k[:80]) for k in refused[:5])
        )


def log_numbers(run: ActiveRun, metrics: dict[str, Any], step: int | None) -> None:
    """Log each of ``metrics`` that is a number (or a one-element array or tensor) at
    ``step``; text, flags and arrays are left out."""
    for key, value in metrics.items():
        if isinstance(value, (bool, str)):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError, RuntimeError):
            continue
        run.log_metric(key, number, step)


# what a boosting library's callback of ours hands each iteration's evaluation metrics to
# (metrics by name, the iteration)
IterationLog = Callable[[dict[str, Any], int], None]


def patch_train(
    flavor: str,
    owners: tuple[Any, ...],
    not_params: tuple[str, ...],
    callback: Callable[[IterationLog], Any],
    finish: Callable[[Settings, ActiveRun, Any, dict[int, dict[str, Any]], dict[str, Any]], None],
) -> None:
    """Record a boosting library's ``train(params, ...)`` (LightGBM's, XGBoost's), wrapped
    where each of ``owners`` has it, as MLflow's autolog does: the params (the ``params``
    dict, then each other argument but ``not_params``, given or its default), each
    iteration's evaluation metrics (step = the iteration) through the framework's callback
    that ``callback(log)`` makes, put first in ``callbacks`` (before an early stopping that
    ends training), then ``finish(settings, run, the trained booster, each iteration's
    metrics, the params logged)``."""

    def record(chosen: Settings, original: Any, params: dict, args: tuple, kwargs: dict) -> Any:
        signature = inspect.signature(original)
        bound = signature.bind(params, *args, **kwargs)  # what the call is given
        every = signature.bind(params, *args, **kwargs)
        every.apply_defaults()  # and what it takes by default
        given = {k: v for k, v in every.arguments.items() if k not in ("params", *not_params)}
        logged = {**dict(params or {}), **given}
        with training_run(chosen, logged) as run:
            if run is None:
                return original(params, *args, **kwargs)
            with recording(flavor):
                log_params(run, logged)
            iterations: dict[int, dict[str, Any]] = {}

            def log(metrics: dict[str, Any], iteration: int) -> None:
                iterations[iteration] = metrics
                with recording(flavor):
                    log_numbers(run, metrics, iteration)

            callbacks = bound.arguments.get("callbacks") or []
            bound.arguments["callbacks"] = [callback(log), *callbacks]
            booster = original(*bound.args, **bound.kwargs)
            with recording(flavor):
                finish(chosen, run, booster, iterations, logged)
            return booster

    for owner in owners:
        replace(flavor, owner, "train", recorded_call(flavor, record, "params"))


def log_early_stopping(run: ActiveRun, best: int, stopped: int, at_best: dict, step: int) -> None:
    """Early stopping as MLflow's autolog logs it: ``best_iteration``, ``stopped_iteration``
    and the best iteration's evaluation metrics (``at_best``) again at ``step``."""
    run.log_metric("best_iteration", best)
    run.log_metric("stopped_iteration", stopped)
    log_numbers(run, at_best, step)


def log_feature_importance(run: ActiveRun, kind: str, importance: dict[str, Any]) -> None:
    """A booster's feature importance of ``kind`` (feature -> importance) as MLflow's
    autolog logs it: the artifact ``feature_importance_<kind>.json`` and its bar chart
    ``feature_importance_<kind>.png``, the chart only when matplotlib is already imported
    (autolog imports no plotting library) and each importance is one number."""
    run.log_dict(importance, f"feature_importance_{kind}.json")
    numbers = all(isinstance(v, (int, float)) for v in importance.values())
    if importance and numbers and "matplotlib" in sys.modules:
        run.log_figure(_importance_chart(kind, importance), f"feature_importance_{kind}.png")


def _importance_chart(kind: str, importance: dict[str, float]) -> Any:
    """MLflow's chart of a feature importance: a bar a feature, the largest at the top."""
    from matplotlib.figure import Figure  # a figure of its own: pyplot's state is left alone

    ranked = sorted(importance.items(), key=lambda item: item[1])
    figure = Figure(figsize=(6.4, 4.8 + (0.1 * len(ranked) if len(ranked) > 10 else 0)))
    axes = figure.subplots()
    axes.barh(range(len(ranked)), [value for _, value in ranked], height=0.5)
    axes.set_yticks(range(len(ranked)), [name for name, _ in ranked])
    axes.set_xlabel("Importance")
    axes.set_title(f"Feature Importance ({kind})")
    figure.tight_layout()
    return figure


def module_attributes(module: str, mlflow_module: str, **built: Callable[[], Any]) -> Any:
    """A flavor module's ``__getattr__``: each of ``built`` (``Callback``...) made on first
    use by its function; the rest of MLflow's ``mlflow_module`` (models) is out of scope."""

    def attribute(name: str) -> Any:
        if name in built:
            return built[name]()
        if name.startswith("_"):
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        raise OutOfScopeError(f"{mlflow_module}.{name}")

    return attribute


def flattened(params: dict[str, Any], separator: str, prefix: str = "") -> dict[str, Any]:
    """``params`` with nested dicts' keys joined by ``separator`` (``{"a": {"b": 1}}``
    gives ``a/b`` with ``/``), as the frameworks' own MLflow loggers name them."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flattened(value, separator, f"{name}{separator}"))
        else:
            flat[name] = value
    return flat


def framework(module: str, package: str, user: str) -> Any:
    """Import ``module`` for ``user`` (``jt.lightning.Logger``...), or say in one line which
    ``package`` to install when the framework is missing."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != module.split(".")[0]:
            raise  # the framework is there, something it imports is not
        raise ModuleNotFoundError(
            f"{user} needs {package}: pip install {package}", name=exc.name
        ) from None


class CallbackRun:
    """The run a framework's callback or logger used explicitly logs to: ``run`` when
    autolog gives one, else the active run, else a run of its own, started on first use and
    ended by ``end`` (resumed if the callback logs again after that)."""

    def __init__(self, run: ActiveRun | None = None) -> None:
        self._run, self._given, self._own = run, run is not None, False

    def get(self) -> ActiveRun:
        """The run to log to now."""
        if self._run is not None and (self._given or self._run.status == "RUNNING"):
            return self._run
        own = session()
        active = own.active_run()
        if active is not None:
            self._run, self._own = active, False
        else:
            self._run = own.start(run_id=self._run.id if self._own and self._run else None)
            self._own = True
        return self._run

    @property
    def latest(self) -> ActiveRun | None:
        """The run last logged to (ended or not), None before the first."""
        return self._run

    def end(self, status: str) -> None:
        """End the run with ``status`` if it is one of its own."""
        if self._own and self._run is not None:
            self._run.end(status)


def say(text: str, flavor: str) -> None:
    """One line on stderr about autologging ``flavor`` (once per text; not when silent)."""
    chosen = _STATE.settings.get(flavor)
    if (chosen is not None and chosen.silent) or text in _STATE.warned:
        return
    _STATE.warned.add(text)
    print(f"jupyter-tracker: {text}", file=sys.stderr)


@contextmanager
def recording(flavor: str) -> Iterator[None]:
    """Around the recording of a training call: a failure is said once, never raised."""
    try:
        yield
    except Exception as exc:
        say(f"{flavor} autologging skipped part of a run: {type(exc).__name__}: {exc}", flavor)


# -- the import hook ---------------------------------------------------------------------


class _ThenCall(importlib.abc.Loader):
    """A loader that runs the real one, then ``hook`` on the module it made."""

    def __init__(self, loader: Any, hook: Callable[[Any], None]) -> None:
        self._loader, self._hook = loader, hook

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        module.__spec__.loader = module.__loader__ = self._loader
        self._hook(module)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package...
        return getattr(self._loader, name)


class _ImportWatcher(importlib.abc.MetaPathFinder):
    """Calls a hook once a watched module has been imported."""

    def __init__(self) -> None:
        self.hooks: dict[str, list[Callable[[Any], None]]] = {}

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in self.hooks:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        hooks = self.hooks.pop(fullname)

        def call_hooks(module: Any) -> None:
            for hook in hooks:
                hook(module)

        spec.loader = _ThenCall(spec.loader, call_hooks)
        return spec


_WATCHER = _ImportWatcher()


def _when_imported(name: str, hook: Callable[[Any], None]) -> None:
    """Call ``hook(module)`` now if ``name`` is imported, else right after its import."""
    module = sys.modules.get(name)
    if module is not None:
        hook(module)
        return
    _WATCHER.hooks.setdefault(name, []).append(hook)
    if _WATCHER not in sys.meta_path:
        sys.meta_path.insert(0, _WATCHER)


def autolog(
    disable: bool = False,
    exclusive: bool = False,
    silent: bool = False,
    extra_tags: dict[str, str] | None = None,
    exclude_flavors: list[str] | None = None,
) -> None:
    """Every flavor but ``exclude_flavors`` records with these settings (``jt.autolog``)."""
    unknown = sorted(set(exclude_flavors or ()) - set(FLAVORS))
    if unknown:
        say(f"autolog has no flavor {', '.join(unknown)}; it has {', '.join(FLAVORS)}", "")
    for flavor in FLAVORS:
        if flavor in (exclude_flavors or ()):
            continue
        module = importlib.import_module(f".{FLAVORS[flavor][0].split('.')[0]}", __name__)
        module.autolog(disable=disable, exclusive=exclusive, silent=silent, extra_tags=extra_tags)

"""System metrics: CPU, memory, disk, network (psutil) and NVIDIA GPUs (nvidia-ml-py), by
MLflow's names, sampled into the runs that ask for them.

A run asks with ``start_run(log_system_metrics=True)``, ``%%track_run --system``, or for
every run with ``jt.enable_system_metrics_logging()`` or MLflow's environment variable
``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING=true``. There is no thread of its own: the store's
writer thread (which flushes every second while a run is running) takes one sample every
``interval`` seconds (default 10, as MLflow's; ``set_system_metrics_sampling_interval``)
and logs it to each such run of this process as ``system/...`` metrics:
``cpu_utilization_percentage``, ``system_memory_usage_megabytes``,
``system_memory_usage_percentage``, ``disk_usage_megabytes``, ``disk_usage_percentage``,
``disk_available_megabytes``, ``network_receive_megabytes`` and
``network_transmit_megabytes`` (since sampling started), and for each GPU ``gpu_<i>_``
``utilization_percentage``, ``memory_usage_megabytes``, ``memory_usage_percentage``,
``power_usage_watts``, ``power_usage_percentage`` and ``temperature_celsius``. Without
psutil, one line says how to install it; with no NVIDIA GPU or driver there are no GPU
metrics.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

from .run import ActiveRun
from .session import session
from .store._writer import Writer

PREFIX = "system/"
DEFAULT_INTERVAL_S = 10.0
ENV_VAR = "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"  # MLflow's
MB = 1e6  # MLflow's megabytes


def shown_order(key: str) -> tuple[bool, str]:
    """Sort key putting a run's own metrics first and the ``system/...`` ones after them."""
    return key.startswith(PREFIX), key


class _Settings:
    enabled: bool | None = None  # None: as the environment variable says
    interval_s = DEFAULT_INTERVAL_S
    said: set[str] = set()


_SETTINGS = _Settings()


def enabled_for_every_run() -> bool:
    """Whether every new run samples system metrics (the setting, else the environment)."""
    if _SETTINGS.enabled is not None:
        return _SETTINGS.enabled
    return os.environ.get(ENV_VAR, "").strip().lower() in ("true", "1")


def enable(on: bool) -> None:
    """Sample system metrics into every run started from now on (or stop)."""
    _SETTINGS.enabled = on


def set_interval(seconds: float | None) -> None:
    """Sample every ``seconds`` (at least 1, the writer's beat; None: the default, 10)."""
    if seconds is not None and not seconds >= 1:
        from .errors import InvalidInputError

        raise InvalidInputError(f"The sampling interval is at least 1 second, got {seconds!r}.")
    _SETTINGS.interval_s = DEFAULT_INTERVAL_S if seconds is None else float(seconds)


class Probe:
    """Reads the machine's state: psutil for CPU, memory, disk and network, NVML for GPUs
    (none when nvidia-ml-py, the driver or a GPU is missing)."""

    def __init__(self, psutil: Any, disk_path: str) -> None:
        self.psutil = psutil
        self.disk_path = disk_path
        psutil.cpu_percent(interval=None)  # the first reading starts the measure
        counters = psutil.net_io_counters()
        self.net_start = (counters.bytes_recv, counters.bytes_sent) if counters else (0, 0)
        self.gpus = _nvml_handles()

    def sample(self) -> dict[str, float]:
        """One reading of every metric, by MLflow's names (without ``system/``)."""
        ps = self.psutil
        found: dict[str, float] = {"cpu_utilization_percentage": ps.cpu_percent(interval=None)}
        memory = ps.virtual_memory()
        found["system_memory_usage_megabytes"] = (memory.total - memory.available) / MB
        found["system_memory_usage_percentage"] = memory.percent
        disk = ps.disk_usage(self.disk_path)
        found["disk_usage_percentage"] = disk.percent
        found["disk_usage_megabytes"] = disk.used / MB
        found["disk_available_megabytes"] = disk.free / MB
        counters = ps.net_io_counters()
        if counters:
            found["network_receive_megabytes"] = (counters.bytes_recv - self.net_start[0]) / MB
            found["network_transmit_megabytes"] = (counters.bytes_sent - self.net_start[1]) / MB
        for i, (nvml, handle) in enumerate(self.gpus):
            found.update(_gpu_sample(nvml, handle, i))
        return {k: float(v) for k, v in found.items()}


def _nvml_handles() -> list[tuple[Any, Any]]:
    """(nvml, handle) of each NVIDIA GPU; [] without nvidia-ml-py, a driver or a GPU."""
    try:
        import pynvml as nvml
    except ImportError:
        return []
    try:
        nvml.nvmlInit()
        return [
            (nvml, nvml.nvmlDeviceGetHandleByIndex(i)) for i in range(nvml.nvmlDeviceGetCount())
        ]
    except Exception:  # NVMLError: no library, no driver, no device
        return []


def _gpu_sample(nvml: Any, handle: Any, index: int) -> dict[str, float]:
    """One GPU's reading; a quantity the device does not report is left out."""
    found: dict[str, float] = {}
    name = f"gpu_{index}_"
    memory = nvml.nvmlDeviceGetMemoryInfo
    power = nvml.nvmlDeviceGetPowerUsage
    readings = {
        "utilization_percentage": lambda: nvml.nvmlDeviceGetUtilizationRates(handle).gpu,
        "memory_usage_megabytes": lambda: memory(handle).used / MB,
        "memory_usage_percentage": lambda: 100 * memory(handle).used / memory(handle).total,
        "power_usage_watts": lambda: power(handle) / 1000,
        "power_usage_percentage": lambda: (
            100 * power(handle) / nvml.nvmlDeviceGetEnforcedPowerLimit(handle)
        ),
        "temperature_celsius": lambda: nvml.nvmlDeviceGetTemperature(
            handle, nvml.NVML_TEMPERATURE_GPU
        ),
    }
    for key, read in readings.items():
        try:
            found[name + key] = read()
        except Exception:  # NVMLError_NotSupported and the like
            continue
    return found


class Sampler:
    """Samples into the watched runs of one writer, called by that writer's thread."""

    def __init__(self, writer: Writer, probe: Probe) -> None:
        self.writer, self.probe = writer, probe
        self.runs: dict[str, ActiveRun] = {}
        self.lock = threading.Lock()
        self.last = time.monotonic()

    def tick(self) -> None:
        """Every ``interval`` seconds: one sample logged to each watched run (a failure is
        said once; it never stops the writer)."""
        now = time.monotonic()
        if now - self.last < _SETTINGS.interval_s or not self.runs:
            return
        self.last = now
        try:
            values = self.probe.sample()
            with self.lock:
                runs = list(self.runs.values())
            for run in runs:
                for key, value in values.items():
                    run.log_metric(PREFIX + key, value)
        except Exception as exc:
            _say(f"system metrics could not be sampled: {exc}")


_SAMPLERS: dict[Writer, Sampler] = {}
_LOCK = threading.Lock()


def watch(run: ActiveRun, on: bool = True) -> None:
    """Sample system metrics into ``run`` until it ends (``on=False``: stop)."""
    writer = run._writer
    if not on:
        sampler = _SAMPLERS.get(writer)
        if sampler is not None:
            with sampler.lock:
                sampler.runs.pop(run.id, None)
        return
    with _LOCK:
        sampler = _SAMPLERS.get(writer)
        if sampler is None:
            try:
                import psutil
            except ImportError:
                _say(
                    "system metrics need psutil: pip install psutil "
                    "(or jupyter-tracker[system]); this run has none."
                )
                return
            sampler = _SAMPLERS[writer] = Sampler(writer, Probe(psutil, str(run._store.path)))
            writer.tickers.append(sampler.tick)
    with sampler.lock:
        sampler.runs[run.id] = run


def on_run(run: ActiveRun, event: str) -> None:
    """The session's watcher: a new run samples when enabled for every run; an ended run
    stops."""
    if event == "started" and enabled_for_every_run():
        watch(run)
    elif event == "ended":
        watch(run, on=False)


def _say(text: str) -> None:
    """One line on stderr, once per process."""
    if text not in _SETTINGS.said:
        _SETTINGS.said.add(text)
        print(f"jupyter-tracker: {text}", file=sys.stderr)


session().watchers.append(on_run)

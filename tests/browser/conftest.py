"""Browser harness: a real JupyterLab server per test, driven by Debian's Chromium.

Run these tests in their own pytest process (`make browser`, `pytest -m browser`): sync
Playwright and pytest-jupyter's event loop do not share a process (TOOLCHAIN trap 6).

- `lab`: starts JupyterLab on 127.0.0.1 with a random token, a fresh root dir, settings,
  Jupyter config/data/runtime dirs and tracker store, all under `tmp_path`; the venv's
  labextensions, server extension and `python3` kernel are still found (they live under
  `sys.prefix`). Terminated at teardown, killed if it does not stop. `notebook7`: the same
  for Notebook 7 (`jupyter notebook`, which loads the same lab extensions).
- `page`: a Playwright page in a Chromium with a fresh profile (`--user-data-dir`).
- `ui`: `open_lab`, `open_notebook` (waits for the kernel to be "Idle": trap 4),
  `run_cell`, `code_cell`, `insert_cell_below`, `set_source`, `execute` (also without
  waiting, for long cells), `save`, `set_theme`, `open_sidebar`, `screenshot` (PNGs of the
  page or of one element in the test's `tmp_path/screens/` and `tests/artifacts/`,
  gitignored; also copied to `$JUPYTER_TRACKER_SCREENSHOTS` when that names a folder).
- `make_runs`, `lab_files`, `notebook_file`: data for the test, made before `lab` starts.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SCREENSHOTS_ENV = "JUPYTER_TRACKER_SCREENSHOTS"  # a folder that also gets every screenshot
SERVER_START_TIMEOUT_S = 60
UI_TIMEOUT_MS = 30_000

# Settings a fresh JupyterLab reads from --LabApp.user_settings_dir: no news toast, no
# update check (trap 5), no "what's new" or tour pop-ups that cover the page.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def pytest_collection_modifyitems(items):
    """Every test in this folder is a browser test, marked or not."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Debian's Chromium; without it the browser tests skip loudly (fail when CI=true)."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    message = (
        f"BROWSER TESTS NOT RUN: {CHROMIUM} is missing. Install it with "
        "`apt-get install -y chromium` (never `playwright install`: no browser downloads here)."
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    """A running JupyterLab server started by a test."""

    process: subprocess.Popen
    port: int
    token: str
    root_dir: Path
    store_dir: Path
    log_path: Path
    env: dict = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def page_url(self, path: str = "lab") -> str:
        """A URL of the app that logs the browser in with the token (then a cookie)."""
        return f"{self.url}{path}?token={self.token}"

    def api(self, path: str, method: str = "GET") -> tuple[int, object]:
        """Call a server path with the token; (status, parsed JSON or text)."""
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body.decode(errors="replace")

    def wait_for_runs(self, count: int = 1, timeout_s: float = 60) -> None:
        """Wait until the store has `count` runs (a kernel made them): how long the sidebar
        takes to list a run is then counted from the run, not from a busy kernel's start."""
        deadline = time.monotonic() + timeout_s
        while len(self.api("jupyter-tracker/api/runs")[1]["runs"]) < count:
            assert time.monotonic() < deadline, f"the store has fewer than {count} runs"
            time.sleep(0.05)

    def shut_down_kernels(self) -> None:
        """Shut every session's kernel down, as the Running panel's "Shut Down All" does."""
        _, sessions = self.api("api/sessions")
        for session in sessions:
            status, _ = self.api(f"api/sessions/{session['id']}", method="DELETE")
            assert status == 204, status

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (Jupyter shuts its kernels down), then SIGKILL the group if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)  # the server and its kernels
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=10)


def _wait_until_ready(lab: Lab) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with {lab.process.returncode}:\n{lab.log_tail()}"
            )
        try:
            status, _ = lab.api("api/status")
        except OSError:
            status = None
        if status == 200:
            return
        time.sleep(0.1)
    raise RuntimeError(f"JupyterLab did not answer in {SERVER_START_TIMEOUT_S}s:\n{lab.log_tail()}")


@pytest.fixture
def tracker_store(tmp_path) -> Path:
    """The store directory the server and its kernels use (empty until runs are made)."""
    return tmp_path / "store" / ".jupyter_tracker"


@pytest.fixture
def make_runs(tracker_store):
    """Run tracking code in a fresh interpreter against the test's store (as a kernel would)."""

    def make(code: str) -> str:
        env = {**os.environ, "JUPYTER_TRACKER_STORE": str(tracker_store)}
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    return make


@pytest.fixture
def lab_files(tmp_path) -> Path:
    """Put what a test needs here before `lab` starts: it becomes the server's root dir."""
    root = tmp_path / "root"
    root.mkdir()
    return root


# (module run with `python -m`, its app class for the settings and workspaces options,
# options of that app only)
SERVERS = {
    "jupyterlab": ("jupyterlab", "LabApp", ["--LabApp.news_url=None"]),
    "notebook7": ("notebook", "JupyterNotebookApp", []),
}


def _start_server(kind: str, tmp_path: Path, root: Path, store: Path) -> Lab:
    """Start JupyterLab or Notebook 7 (see the module docstring); the running server."""
    module, app, options = SERVERS[kind]
    settings_dir = tmp_path / f"{kind}-settings"
    for name, value in LAB_SETTINGS.items():
        target = settings_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    home = tmp_path / "home"
    for folder in ("config", "data", "runtime", "ipython", "workspaces"):
        (home / folder).mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "JUPYTER_TRACKER_STORE": str(store),
        # Per-user Jupyter dirs isolated; sys.prefix ones (labextensions, the server
        # extension's config, the python3 kernelspec) are still on Jupyter's paths.
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
        "JUPYTER_PREFER_ENV_PATH": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_CONFIG_PATH", None)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")

    log_path = tmp_path / f"{kind}.log"
    for _attempt in range(3):  # a free port can be taken between probe and bind
        port, token = _free_port(), secrets.token_hex(24)
        command = [
            sys.executable,
            "-m",
            module,
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--{app}.user_settings_dir={settings_dir}",
            f"--{app}.workspaces_dir={home / 'workspaces'}",
            "--ServerApp.log_level=INFO",
            *options,
        ]
        log = log_path.open("ab")
        process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: kernels can be killed with it
        )
        log.close()
        server = Lab(process, port, token, root, store, log_path, env)
        try:
            _wait_until_ready(server)
            return server
        except RuntimeError:
            server.stop()
            if "address already in use" not in server.log_tail().lower():
                raise
    raise RuntimeError(f"{kind} found no free port:\n{server.log_tail()}")


@pytest.fixture
def lab(tmp_path, lab_files, tracker_store):
    """A JupyterLab server for this test only (see the module docstring)."""
    server = _start_server("jupyterlab", tmp_path, lab_files, tracker_store)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def notebook7(tmp_path, lab_files, tracker_store):
    """A Notebook 7 server (`jupyter notebook`) for this test only, started as `lab` is."""
    server = _start_server("notebook7", tmp_path, lab_files, tracker_store)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser_context(chromium_executable, tmp_path):
    """A Chromium with a fresh profile (`--user-data-dir`), closed after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=chromium_executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 800},
            locale="en-US",
            timezone_id="UTC",
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context):
    """The browser's page, with dialogs recorded (and dismissed) in `page.dialogs`."""
    return _watched(
        browser_context.pages[0] if browser_context.pages else browser_context.new_page()
    )


def _watched(page):
    """`page`, its dialogs recorded (and dismissed) in `page.dialogs`."""
    page.dialogs = []

    def on_dialog(dialog):
        page.dialogs.append((dialog.type, dialog.message))
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return page


# Run in the page on a cell's prompt before the cell is run: `data-test-run` becomes
# "running" when the prompt shows `[*]`, then "running done" when it shows `[n]` again.
_WATCH_PROMPT = """
el => {
  el.dataset.testRun = "queued";
  const observer = new MutationObserver(() => {
    const text = el.textContent;
    if (text.includes("*")) {
      el.dataset.testRun = "running";
    } else if (el.dataset.testRun === "running" && /\\[\\d+\\]/.test(text)) {
      el.dataset.testRun = "running done";
      observer.disconnect();
    }
  });
  observer.observe(el, {childList: true, characterData: true, subtree: true});
}
"""


class LabUI:
    """What a person does in JupyterLab, for tests: open it, open a notebook, run a cell."""

    def __init__(self, page, lab: Lab, screens: Path) -> None:
        self.page, self.lab, self.screens = page, lab, screens

    def open_lab(self, path: str = "lab") -> None:
        """Load JupyterLab (`lab` or `lab/tree/<file>`) and wait for its shell."""
        self.page.goto(self.lab.page_url(path))
        self.page.locator("#jp-main-dock-panel").wait_for()
        self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab").first.wait_for()

    def open_notebook(self, name: str) -> None:
        """Open notebook `name` (in the root dir) and wait for its kernel to be Idle."""
        self.open_lab(f"lab/tree/{name}")
        self.notebook.wait_for()
        self.wait_for_idle()

    @property
    def notebook(self):
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")

    def wait_for_idle(self, timeout_ms: int = UI_TIMEOUT_MS) -> None:
        """Wait for the kernel to be "Idle" (Shift+Enter before is lost): JupyterLab's
        status bar says so (its toolbar indicator may say "idle" before a kernel is there);
        Notebook 7, which has no status bar, has it as its toolbar indicator's status."""
        status_bar = self.page.locator("#jp-main-statusbar")
        if status_bar.count():
            status_bar.get_by_text(re.compile(r"\|\s*Idle")).wait_for(timeout=timeout_ms)
        else:
            indicator = self.page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')
            indicator.first.wait_for(timeout=timeout_ms)

    @property
    def cells(self):
        """All cells of the open notebook, in order (code and markdown)."""
        return self.notebook.locator(".jp-Cell")

    def code_cell(self, text: str):
        """The first code cell whose source contains `text`."""
        editor = self.page.locator(".jp-InputArea-editor", has_text=text)
        return self.notebook.locator(".jp-CodeCell").filter(has=editor).first

    def set_source(self, cell, code: str) -> None:
        """Replace the source of `cell` with `code` (dedented); the cell stays in edit mode."""
        cell.locator(".jp-InputArea-editor .cm-content").click()
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.insert_text(textwrap.dedent(code).strip())

    def insert_cell_below(self, cell, code: str | None = None):
        """Add a code cell below `cell` (command mode `b`), with source `code`; its locator."""
        from playwright.sync_api import expect

        index = self.cells.evaluate_all("(cells, el) => cells.indexOf(el)", cell.element_handle())
        count = self.cells.count()
        cell.locator(".jp-InputArea-editor .cm-content").click()
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("b")
        expect(self.cells).to_have_count(count + 1)
        new = self.cells.nth(index + 1)
        expect(new).to_have_class(re.compile(r"\bjp-mod-active\b"))
        if code is not None:
            self.set_source(new, code)
        return new

    def execute(self, cell, *, wait: bool = True, timeout_ms: int = UI_TIMEOUT_MS):
        """Run `cell` (Ctrl+Enter: it stays selected); its locator.

        With `wait`, returns once the kernel has answered (the prompt went from `[*]` to
        `[n]`, watched in the page, so a cell run before with a saved `[n]` works too);
        without, once it is executing, for a test to watch a long cell while it runs.
        """
        prompt = cell.locator(".jp-InputArea-prompt")
        prompt.evaluate(_WATCH_PROMPT)
        cell.locator(".jp-InputArea-editor .cm-content").click()
        self.wait_for_idle()
        self.page.keyboard.press("ControlOrMeta+Enter")
        state = "done" if wait else "running"
        cell.locator(f'.jp-InputArea-prompt[data-test-run~="{state}"]').wait_for(timeout=timeout_ms)
        return cell

    def run_cell(self, code: str, timeout_ms: int = UI_TIMEOUT_MS):
        """Type `code` into the last cell and run it (Shift+Enter); that cell's locator."""
        cell = self.cells.nth(self.cells.count() - 1)
        self.set_source(cell, code)
        self.wait_for_idle()
        self.page.keyboard.press("Shift+Enter")
        prompt = cell.locator(".jp-InputArea-prompt").filter(has_text=re.compile(r"\[\d+\]"))
        prompt.wait_for(timeout=timeout_ms)
        return cell

    def new_page(self) -> None:
        """Close the page (its notebooks closed, their kernels left running), without the
        "leave the page?" question, and go on in a new page of the same browser."""
        context = self.page.context
        self.page.close()
        self.page = _watched(context.new_page())

    def save(self) -> None:
        """Save the open notebook (Ctrl+S) and wait until its tab no longer shows it dirty."""
        from playwright.sync_api import expect

        self.notebook.locator(".jp-Cell").first.click(position={"x": 2, "y": 2})
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("ControlOrMeta+s")
        current = self.page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")
        expect(current).not_to_have_class(re.compile(r"\bjp-mod-dirty\b"))

    def set_theme(self, name: str) -> None:
        """Switch the theme from the Settings menu ("JupyterLab Dark", "JupyterLab Light")."""
        page = self.page
        page.locator("#jp-menu-panel .lm-MenuBar-item", has_text="Settings").click()
        page.locator(".lm-Menu-item", has_text=re.compile(r"^Theme$")).hover()
        label = page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(name)}$"))
        page.locator(".lm-Menu-item").filter(has=label).click()
        page.locator(f'body[data-jp-theme-name="{name}"]').wait_for(state="attached")

    def dismiss_dialogs(self) -> None:
        """Close JupyterLab's own dialogs ("the kernel appears to have died"...) if any."""
        dialog = self.page.locator(".jp-Dialog")
        while dialog.count():
            dialog.first.locator(".jp-Dialog-footer button").last.click()

    def open_sidebar(self, caption: str):
        """Activate the left sidebar tab whose tooltip is `caption`; the panel's locator."""
        tab = self.page.locator(f'.jp-SideBar.jp-mod-left .lm-TabBar-tab[title="{caption}"]')
        tab.wait_for()
        if "lm-mod-current" not in (tab.get_attribute("class") or ""):
            tab.click()
        panel_id = tab.get_attribute("data-id")
        panel = self.page.locator(f"#{panel_id}")
        panel.wait_for(state="visible")
        return panel

    def screenshot(self, name: str, element=None) -> Path:
        """Save a PNG of the page, or of `element` only, as <name>.png in the test's
        `screens` folder; copied to tests/artifacts/ and `$JUPYTER_TRACKER_SCREENSHOTS`."""
        self.screens.mkdir(parents=True, exist_ok=True)
        path = self.screens / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.png"
        (element or self.page).screenshot(path=str(path))
        extra = os.environ.get(SCREENSHOTS_ENV)
        for folder in (ARTIFACTS, Path(extra) if extra else None):
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, folder / path.name)
        return path


@pytest.fixture
def ui(page, lab, tmp_path) -> LabUI:
    """The page of a fresh Chromium on this test's JupyterLab."""
    return LabUI(page, lab, tmp_path / "screens")


@pytest.fixture
def notebook7_ui(page, notebook7, tmp_path) -> LabUI:
    """The page of a fresh Chromium on this test's Notebook 7 (the helpers that do not
    need JupyterLab's own shell: `notebook`, `code_cell`, `screenshot`...)."""
    return LabUI(page, notebook7, tmp_path / "screens")


@pytest.fixture
def notebook_file(lab_files):
    """Write a notebook (the venv's python3 kernel, these code cells) into the root dir."""
    import nbformat

    def write(name: str, cells: list[str] = ()) -> Path:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        nb.cells = [nbformat.v4.new_code_cell(src) for src in (cells or [""])]
        path = lab_files / name
        nbformat.write(nb, path)
        return path

    return write

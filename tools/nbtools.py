"""Maintainer tooling for the notebook pairs (not course material).

    python tools/nbtools.py build notebooks/02_losses.py   # sync, execute, clean, sync
    python tools/nbtools.py check                          # the hygiene rules, as the tests run them
    python tools/nbtools.py setup-cell notebooks/09_x.py   # write the canonical setup cell and Colab badge
    python tools/nbtools.py setup-cell --threads 1 notebooks/09_x.py notebooks/10_y.py

The ``.py`` percent file is the one to edit. ``build`` writes the ``.ipynb`` beside it
with fresh outputs, strips widget state and widget views (a saved view of a widget
whose model is gone shows "Error displaying widget" in JupyterLab), and leaves the
pair in sync.

**The setup cell.** Every notebook's first code cell is the same cell, byte for byte,
except the two numbers of its last line, ``device = bml.setup(seed=S, threads=T)``
(``T`` an integer or ``None``; see ``bigmodel_lib.env.setup``). On Colab it clones the
course and runs ``tools/colab_install.py`` (installs what Colab lacks, upgrades
nothing). ``check`` fails on any other version of it, on a second copy, and on a Colab
badge that does not point at this notebook. The repository's address comes from
``pyproject.toml`` (``[project.urls] Repository``), or from ``$BIGMODEL_COURSE_REPO``
when that is set while nbtools runs (a fork: set it, or edit pyproject.toml, then run
``setup-cell`` on every notebook); at run time the cell itself also honours
``$BIGMODEL_COURSE_REPO``.

``setup-cell NN_x.py ...`` rewrites each notebook's setup cell and badge to the
canonical form; it works on any ``notebooks/NN_*.py`` (and its ``.ipynb``, keeping the
saved outputs, so no rebuild is needed). It keeps the notebook's seed and threads (a
``torch.set_num_threads(n)`` in the old cell becomes ``threads=n``; ``--seed`` and
``--threads`` override), and moves every other line of the old cell (the chapter's
imports) to the top of the next code cell, or to a new code cell when a markdown cell
follows.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAME = re.compile(r"^(\d\d)_[a-z0-9_]+$")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
IGNORE_TAG = "nbval-ignore-output"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# Code whose output changes from run to run or machine to machine: such a cell must
# carry the nbval-ignore-output tag.
UNSTABLE = re.compile(
    r"\b(interact|interactive|widgets\.|LivePlot|progress\(|tqdm|(?:(?<!\.)|(?<=train\.))fit\(|perf_counter|time\.time"
    r"|from_pretrained|load_pretrained_classifier|setup\(|get_device|environment_report)"
)


REPO_ENV = "BIGMODEL_COURSE_REPO"
COLAB_DIR = "/content/bigmodel-course"
SETUP_TEMPLATE = """\
# Setup: on Colab, fetch the course and install what Colab lacks (nothing it has is upgraded).
import os
import subprocess
import sys

COURSE_REPO = os.environ.get("{env}", "{url}")
if "google.colab" in sys.modules and not os.path.isdir("{dir}"):
    subprocess.run(["git", "clone", "--depth", "1", COURSE_REPO, "{dir}"], check=True)
    subprocess.run([sys.executable, "{dir}/tools/colab_install.py"], check=True)
    sys.path.insert(0, "{dir}")

import bigmodel_lib as bml

device = bml.setup(seed={seed}, threads={threads})"""
SETUP_CALL = re.compile(r"device = bml\.setup\(seed=(\d+), threads=(\d+|None)\)\Z")
BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")
# A line of an old setup cell that the canonical cell replaces (everything else is moved).
BOILERPLATE = re.compile(
    r"^(# Setup: .*|import (os|subprocess|sys)|COURSE_REPO = .*|if \"google\.colab\" in sys\.modules.*"
    r"|import bigmodel_lib as bml|device = bml\.setup\(.*\)|torch\.set_num_threads\(.*\).*)$"
)


def repo_url() -> str:
    """The course repository's address: ``$BIGMODEL_COURSE_REPO``, else pyproject.toml's ``[project.urls]``."""
    url = os.environ.get(REPO_ENV, "").strip()
    if not url:
        with (ROOT / "pyproject.toml").open("rb") as handle:
            url = tomllib.load(handle)["project"]["urls"]["Repository"]
    return url.rstrip("/").removesuffix(".git")


def setup_cell(seed: int = 0, threads: int | None = None) -> str:
    """The canonical setup cell's source."""
    return SETUP_TEMPLATE.format(env=REPO_ENV, url=repo_url(), dir=COLAB_DIR, seed=seed, threads=threads)


def colab_badge(stem: str) -> str:
    """The Open-in-Colab badge for ``notebooks/<stem>.ipynb`` (Colab opens notebooks from GitHub)."""
    match = re.fullmatch(r"https://github\.com/([^/]+/[^/]+)", repo_url())
    if match is None:
        raise ValueError(f"Colab opens notebooks from GitHub only; the repository {repo_url()!r} is not "
                         f"https://github.com/OWNER/NAME (set {REPO_ENV} or pyproject.toml's [project.urls])")
    return ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{match.group(1)}/blob/main/notebooks/{stem}.ipynb)")


def setup_problems(name: str, stem: str, notebook: nbformat.NotebookNode) -> list[str]:
    """How this notebook's setup cell and badge differ from the canonical ones."""
    found = []
    code = [(i, c) for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    if not code:
        return [f"{name}: no code cell, so no setup cell (run: python tools/nbtools.py setup-cell {stem}.py)"]
    index, cell = code[0]
    last = cell.source.rstrip("\n").rsplit("\n", 1)[-1]
    call = SETUP_CALL.match(last)
    fix = f"(run: python tools/nbtools.py setup-cell notebooks/{stem}.py)"
    if call is None or cell.source != setup_cell(int(call.group(1)), None if call.group(2) == "None" else
                                                 int(call.group(2))):
        found.append(f"{name} cell {index}: the first code cell is not the canonical setup cell {fix}")
    elif cell.metadata.get("tags", []) != [IGNORE_TAG]:
        found.append(f"{name} cell {index}: the setup cell's tags must be exactly [{IGNORE_TAG!r}] {fix}")
    for other, copy in code[1:]:
        if "COURSE_REPO" in copy.source or "bml.setup(" in copy.source:
            found.append(f"{name} cell {other}: a second setup cell (one per notebook, the first code cell)")
    markdown = [c for c in notebook.cells if c.cell_type == "markdown"]
    badges = [m.group(0) for c in markdown[:1] for m in BADGE.finditer(c.source)]
    if badges != [colab_badge(stem)]:
        found.append(f"{name}: the first markdown cell needs exactly the canonical Colab badge {fix}")
    return found


def _old_setting(source: str, pattern: str) -> int | None:
    match = re.search(pattern, source)
    if match is None or match.group(1) == "None":
        return None
    try:
        return int(match.group(1))
    except ValueError:  # e.g. set_num_threads(min(2, os.cpu_count() or 1)): not a plain number
        numbers = re.findall(r"\d+", match.group(1))
        return int(numbers[0]) if numbers else None


def rewrite_setup(notebook: nbformat.NotebookNode, stem: str, seed: int | None = None,
                  threads: int | None | str = "keep") -> nbformat.NotebookNode:
    """The notebook with the canonical setup cell and badge; the old cell's own lines move to the next cell."""
    code = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    index = next((i for i in code if "COURSE_REPO" in notebook.cells[i].source
                  or "bml.setup(" in notebook.cells[i].source), None)
    moved: list[str] = []
    if index is None:  # no setup cell yet: a new one before the first code cell
        index = code[0] if code else len(notebook.cells)
        notebook.cells.insert(index, nbformat.v4.new_code_cell(""))
        old = ""
    else:
        old = notebook.cells[index].source
        lines = old.split("\n")
        in_colab_block = False
        for number, line in enumerate(lines):
            following = lines[number + 1] if number + 1 < len(lines) else ""
            in_colab_block = (in_colab_block and line.startswith(" ")) or line.startswith('if "google.colab"')
            if (in_colab_block or BOILERPLATE.match(line)
                    or (line.startswith("#") and following.startswith("torch.set_num_threads"))):
                continue
            moved.append(line)
    if seed is None:
        seed = _old_setting(old, r"bml\.setup\(seed=(\d+)") or 0
    if threads == "keep":
        threads = _old_setting(old, r"threads=(\w+)") or _old_setting(old, r"torch\.set_num_threads\((.*)\)")
    cell = notebook.cells[index]
    cell.source = setup_cell(seed, threads)
    cell.metadata["tags"] = [IGNORE_TAG]
    while moved and not moved[0].strip():
        moved.pop(0)
    while moved and not moved[-1].strip():
        moved.pop()
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(moved))
    if text:
        after = notebook.cells[index + 1] if index + 1 < len(notebook.cells) else None
        if after is not None and after.cell_type == "code":
            after.source = text + "\n\n" + after.source.lstrip("\n")
        else:
            notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(text))
    first_markdown = next((c for c in notebook.cells if c.cell_type == "markdown"), None)
    if first_markdown is None:
        first_markdown = nbformat.v4.new_markdown_cell(f"# {stem}")
        notebook.cells.insert(0, first_markdown)
    if BADGE.search(first_markdown.source):
        first_markdown.source = BADGE.sub(lambda _: colab_badge(stem), first_markdown.source, count=1)
    else:
        lines = first_markdown.source.split("\n")
        at = 2 if len(lines) > 1 and lines[1].startswith("*") else 1
        lines[at:at] = ["", colab_badge(stem)]
        first_markdown.source = "\n".join(lines)
    return notebook


def write_setup(py: Path, seed: int | None = None, threads: int | None | str = "keep") -> None:
    """Rewrite ``py`` (and its ``.ipynb``, outputs kept) with the canonical setup cell and badge."""
    py = Path(py)
    if py.suffix == ".ipynb":
        py = py.with_suffix(".py")
    if not (py.parent.resolve() == NOTEBOOKS.resolve() and NAME.match(py.stem)):
        raise SystemExit(f"setup-cell works on notebooks/NN_slug.py files; got {py}")
    ipynb = py.with_suffix(".ipynb")
    if ipynb.exists():
        notebook = nbformat.read(ipynb, as_version=4)
        if py.exists() and percent_text(notebook) != py.read_text():
            raise SystemExit(f"{py.name} and {ipynb.name} are out of sync; build first: "
                             f"python tools/nbtools.py build {py}")
        notebook = rewrite_setup(notebook, py.stem, seed, threads)
        nbformat.write(notebook, ipynb)
    else:
        notebook = rewrite_setup(jupytext.read(py), py.stem, seed, threads)
    py.write_text(percent_text(notebook))
    print(f"{py.name}: canonical setup cell and Colab badge written")


def pairs() -> list[tuple[Path, Path]]:
    """Every chapter's (.py, .ipynb) pair, in reading order."""
    stems = sorted({p.stem for pattern in ("[0-9][0-9]_*.py", "[0-9][0-9]_*.ipynb") for p in NOTEBOOKS.glob(pattern)})
    return [(NOTEBOOKS / f"{s}.py", NOTEBOOKS / f"{s}.ipynb") for s in stems]


def percent_text(notebook: nbformat.NotebookNode) -> str:
    return jupytext.writes(notebook, fmt="py:percent")


def clean(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop saved widget state and widget views; keep every other output."""
    notebook.metadata.pop("widgets", None)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)  # a learner's kernel, whichever one built it
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                continue
            kept.append(output)
        cell.outputs = kept
    return notebook


def build(py: Path, timeout: int = 1800) -> None:
    """Sync ``py`` to its ``.ipynb`` (keeping outputs), execute it, clean it, sync back."""
    py = py.resolve()
    ipynb = py.with_suffix(".ipynb")
    subprocess.run([sys.executable, "-m", "jupytext", "--set-formats", "ipynb,py:percent", str(py)], check=True)
    subprocess.run([sys.executable, "-m", "jupytext", "--sync", str(py)], check=True)
    notebook = nbformat.read(ipynb, as_version=4)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)  # no "Select Kernel" dialog on opening
    nbformat.write(notebook, ipynb)
    # Build as the test command runs, so nbval finds the same outputs: the real AG News rows
    # beside the repo when they are there, one CPU thread per kernel, and the Colab-like
    # kernel once tests/test_colab.py has registered it (NBTOOLS_KERNEL picks another).
    os.environ["BIGMODEL_TESTING"] = "1"
    os.environ.setdefault("BIGMODEL_MAX_THREADS", "1")
    shared_news = ROOT.parent / "shared" / "data" / "ag_news"
    if not os.environ.get("BIGMODEL_AG_NEWS_DIR") and (shared_news / "train.csv").is_file():
        os.environ["BIGMODEL_AG_NEWS_DIR"] = str(shared_news)
    colab = (Path(sys.prefix) / "share/jupyter/kernels/bigmodel-colab/kernel.json").is_file()
    kernel = os.environ.get("NBTOOLS_KERNEL", "bigmodel-colab" if colab else KERNELSPEC["name"])
    print(f"{py.name}: executing in kernel {kernel!r}", flush=True)
    notebook = nbformat.read(ipynb, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name=kernel,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    # No front-end emulation of widgets: nbclient's Output-widget hooks can wait forever on
    # an interact() cell (seen on chapters 03 and 04); the outputs a widget would capture
    # are kept as the cell's own outputs instead (the saved widget views are dropped anyway).
    client.comm_open_handlers = {"jupyter.widget": lambda msg: None}
    client.execute()
    nbformat.write(notebook, ipynb)
    notebook = clean(nbformat.read(ipynb, as_version=4))
    nbformat.write(notebook, ipynb)
    subprocess.run([sys.executable, "-m", "jupytext", "--sync", str(ipynb)], check=True)


def problems() -> list[str]:
    """Every hygiene rule broken by the notebooks, as readable sentences."""
    found = []
    numbers = []
    for py, ipynb in pairs():
        if not NAME.match(py.stem):
            found.append(f"{py.stem}: notebook names are NN_slug (lower-case, digits, underscores)")
        numbers.append(int(py.stem[:2]))
        if not py.exists():
            found.append(f"{ipynb.name} has no .py pair (write {py.name}, or: jupytext --set-formats ipynb,py:percent)")
            continue
        if not ipynb.exists():
            found.append(f"{py.name} has no .ipynb pair (run: python tools/nbtools.py build {py})")
            continue
        notebook = nbformat.read(ipynb, as_version=4)
        if percent_text(notebook) != py.read_text():
            found.append(f"{py.name} and {ipynb.name} are out of sync (run: python tools/nbtools.py build {py})")
        if notebook.metadata.get("kernelspec", {}).get("name") != KERNELSPEC["name"]:
            found.append(f"{ipynb.name} names no python3 kernel (JupyterLab would ask for one)")
        if "widgets" in notebook.metadata or WIDGET_STATE in ipynb.read_text():
            found.append(f"{ipynb.name} carries saved widget state")
        found.extend(setup_problems(ipynb.name, py.stem, notebook))
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            tags = cell.metadata.get("tags", [])
            if any(WIDGET_VIEW in o.get("data", {}) for o in cell.get("outputs", [])):
                found.append(f"{ipynb.name} cell {index}: saved widget view (build cleans it)")
            if UNSTABLE.search(cell.source) and IGNORE_TAG not in tags:
                found.append(f"{ipynb.name} cell {index}: output cannot be stable; tag it {IGNORE_TAG}")
            if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                found.append(f"{ipynb.name} cell {index}: saved with an error output")
    if numbers and numbers != list(range(len(numbers))):
        found.append(f"chapter numbers must run 00, 01, 02, ... without gaps or repeats; found {numbers}")
    return found


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "setup-cell":
        parser = argparse.ArgumentParser(prog="nbtools.py setup-cell")
        parser.add_argument("--seed", type=int, default=None, help="default: the notebook's own, else 0")
        parser.add_argument("--threads", default="keep", help="an integer or None; default: the notebook's own")
        parser.add_argument("notebooks", nargs="+", type=Path)
        args = parser.parse_args(argv[1:])
        threads = args.threads if args.threads in ("keep",) else None if args.threads == "None" else int(args.threads)
        for py in args.notebooks:
            write_setup(py, args.seed, threads)
        return 0
    if len(argv) >= 2 and argv[0] == "build":
        for name in argv[1:]:
            build(Path(name))
        return 0
    if argv == ["check"]:
        found = problems()
        print("\n".join(found) if found else "notebooks are clean")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Maintainer tooling for the notebook pairs (not course material).

    python tools/nbtools.py build notebooks/02_losses.py   # sync, execute, clean, sync
    python tools/nbtools.py check                          # the hygiene rules, as the tests run them

The ``.py`` percent file is the one to edit. ``build`` writes the ``.ipynb`` beside it
with fresh outputs, strips widget state and widget views (a saved view of a widget
whose model is gone shows "Error displaying widget" in JupyterLab), and leaves the
pair in sync.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat

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


def pairs() -> list[tuple[Path, Path]]:
    """Every chapter's (.py, .ipynb) pair, in reading order."""
    stems = sorted({p.stem for pattern in ("[0-9][0-9]_*.py", "[0-9][0-9]_*.ipynb") for p in NOTEBOOKS.glob(pattern)})
    return [(NOTEBOOKS / f"{s}.py", NOTEBOOKS / f"{s}.ipynb") for s in stems]


def percent_text(notebook: nbformat.NotebookNode) -> str:
    return jupytext.writes(notebook, fmt="py:percent")


def clean(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop saved widget state and widget views; keep every other output."""
    notebook.metadata.pop("widgets", None)
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
    env = dict(os.environ, BIGMODEL_TESTING="1")
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
         f"--ExecutePreprocessor.timeout={timeout}",
         str(ipynb)],
        check=True, env=env, cwd=NOTEBOOKS,
    )
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

"""The notebooks' house rules: pairs in sync, no widget state, contiguous chapters, tags."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import nbtools  # noqa: E402


def test_there_are_notebooks():
    assert nbtools.pairs(), "no notebooks found under notebooks/"


def test_notebook_hygiene():
    problems = nbtools.problems()
    assert not problems, "\n".join(problems)

"""The bundled news corpus passes its own checker (format, balance, duplicates, lengths)."""

import importlib.util
from pathlib import Path

CHECKER = Path(__file__).resolve().parents[1] / "data" / "news" / "check_corpus.py"


def test_bundled_corpus_passes_its_checker():
    spec = importlib.util.spec_from_file_location("check_corpus", CHECKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([]) == 0

"""pytest configuration shared by the unit tests and the notebooks run under nbval."""

import os
from pathlib import Path

# Notebook kernels inherit this: self-checks raise and live plots draw one final figure.
os.environ.setdefault("BIGMODEL_TESTING", "1")

# Rough seconds per test file on 2 busy cores, so that `./course test` (two xdist workers,
# whole files per worker, in this order) starts the longest files first and the two
# workers finish together. Unlisted notebooks count 150 s (the new chapters' budgets are
# 1.5-4 minutes), unlisted test files 5 s; only the order depends on these numbers.
EXPECTED_SECONDS = {
    "08_bert_case_study.ipynb": 500,
    "test_browser.py": 240,
    "07_text_classification.ipynb": 120,
    "06_evaluation.ipynb": 60,
    "05_training_loop.ipynb": 50,
    "04_regularization.ipynb": 40,
    "02_losses.ipynb": 40,
    "03_optimizers.ipynb": 30,
    "test_train.py": 30,
    "test_finetune.py": 25,
    "test_gpu_profile.py": 20,
}


def expected_seconds(path: Path) -> float:
    name = Path(str(path)).name
    if name in EXPECTED_SECONDS:
        return EXPECTED_SECONDS[name]
    return 150 if name.endswith(".ipynb") else 5


def pytest_collection_modifyitems(session, config, items):
    # Stable sort: items of one file stay together and in their order.
    items.sort(key=lambda item: -expected_seconds(item.path))


def pytest_collectstart(collector):
    # Warnings on stderr differ between library versions; errors still fail the cell.
    if getattr(collector, "fspath", None) is not None and collector.fspath.ext == ".ipynb":
        collector.skip_compare = tuple(collector.skip_compare) + ("stderr",)

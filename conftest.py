"""pytest configuration shared by the unit tests and the notebooks run under nbval."""

import os

# Notebook kernels inherit this: self-checks raise and live plots draw one final figure.
os.environ.setdefault("BIGMODEL_TESTING", "1")


def pytest_collectstart(collector):
    # Warnings on stderr differ between library versions; errors still fail the cell.
    if getattr(collector, "fspath", None) is not None and collector.fspath.ext == ".ipynb":
        collector.skip_compare = tuple(collector.skip_compare) + ("stderr",)

"""The data files chapter 12 ships: each one's sha256 and row count equal its card's."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"

# file, sha256, rows excluding the header, header: as in the folder's README.md
FILES = [
    ("german_credit/german_credit.csv", "f6f37d1be55d912548ae6cbe1a373a96f94f4d1d7b3c2fc449e7df8e7316fe7c", 1_000,
     "checking_account_status"),
    ("online_retail/purchases.csv", "87403f22c80d7450a4f7695cf75c55d4eb46a2586af2f11bb5d3285db2547ec0", 54_012,
     "CustomerID"),
    ("online_retail/products.csv", "29982bf04baa09c55768ae2bea1b7c8a8c7b615eac6430e39032e13433557f98", 3_111,
     "StockCode"),
]


@pytest.mark.parametrize(("name", "sha256", "rows", "first_column"), FILES)
def test_file_hash_and_rows(name, sha256, rows, first_column):
    path = DATA / name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256, f"{name} changed; update its card"
    with path.open(newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    assert table[0][0] == first_column
    assert len(table) - 1 == rows
    assert len({len(row) for row in table}) == 1  # every row has the header's number of fields


@pytest.mark.parametrize("folder", ["german_credit", "online_retail"])
def test_card_states_licence_source_and_every_hash(folder):
    card = (DATA / folder / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in card and "https://archive.ics.uci.edu/dataset/" in card and "doi.org/10.24432" in card
    assert "Subset rule" in card
    for name, sha256, rows, _ in FILES:
        if name.startswith(folder + "/"):
            assert sha256 in card and f"{rows:,}" in card, f"the card of {folder} lacks {name}'s hash or rows"


def test_purchases_are_real_products_with_positive_quantities():
    with (DATA / "online_retail/purchases.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert all(re.match(r"^\d{5}", r["StockCode"]) and int(r["Quantity"]) > 0 for r in rows)
    assert not any(r["InvoiceNo"].startswith("C") for r in rows)
    with (DATA / "online_retail/products.csv").open(newline="", encoding="utf-8") as handle:
        codes = {r["StockCode"] for r in csv.DictReader(handle)}
    assert {r["StockCode"] for r in rows} == codes

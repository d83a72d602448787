"""Rebuild this folder's two files from the course's UCI Online Retail sample (chapter 12).

Run from the repository root:  python data/online_retail/make_subset.py ../shared/data/online_retail
It reads ``online_retail_customers_sample.csv`` (sha256 checked), keeps the purchase lines
of real products, and writes ``purchases.csv`` and ``products.csv`` next to this script.
Standard library only; the output is byte-for-byte reproducible. README.md gives the rule.
"""

from __future__ import annotations

import csv
import hashlib
import re
import sys
from collections import Counter
from pathlib import Path

SOURCE_NAME = "online_retail_customers_sample.csv"
SOURCE_SHA256 = "7b3b921a65e1a7fa67d351c8bde952b84f6ee4c87fc2984cc4419a3243d1703e"
PRODUCT = re.compile(r"^\d{5}")


def main(source_dir: str) -> None:
    source = Path(source_dir) / SOURCE_NAME
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:
        raise SystemExit(f"{source} has sha256 {digest}, expected {SOURCE_SHA256}")
    lines: dict[tuple[str, str, str], list] = {}  # (customer, invoice, stock code) -> row, in first-seen order
    names: dict[str, Counter] = {}
    first_seen: dict[tuple[str, str], int] = {}
    with source.open(newline="", encoding="utf-8") as handle:
        for n, row in enumerate(csv.DictReader(handle)):
            quantity = int(row["Quantity"])
            if row["InvoiceNo"].startswith("C") or quantity <= 0 or not PRODUCT.match(row["StockCode"]):
                continue
            key = (row["CustomerID"], row["InvoiceNo"], row["StockCode"])
            if key in lines:
                lines[key][4] += quantity
            else:
                lines[key] = [row["CustomerID"], row["InvoiceNo"], row["InvoiceDate"], row["StockCode"], quantity]
            text = row["Description"].strip()
            names.setdefault(row["StockCode"], Counter())[text] += 1
            first_seen.setdefault((row["StockCode"], text), n)
    out = Path(__file__).parent
    with (out / "purchases.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["CustomerID", "InvoiceNo", "InvoiceDate", "StockCode", "Quantity"])
        writer.writerows(lines.values())
    with (out / "products.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["StockCode", "Description"])
        for code in sorted(names):
            # the most frequent description; a tie goes to the one seen first
            best = min(names[code].items(), key=lambda item: (-item[1], first_seen[(code, item[0])]))[0]
            writer.writerow([code, best])
    print(f"{len(lines):,} purchase lines, {len(names):,} products")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/online_retail")

"""Rebuild data/adult/adult_subset.csv from the full UCI Adult CSV (standard library only).

    python data/adult/make_subset.py PATH/TO/adult.csv

The rule: keep the header and every fourth data row of ``adult.csv`` (data rows 0, 4, 8,
... counted from 0 after the header), byte for byte, in their original order. Prints the
row counts and the sha256 of the result, which README.md records.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

FULL_SHA256 = "c6c77bfbd8b6c387f5e508860cdc6595f3522e645be92e9d55612bbf046829f9"
EVERY = 4


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    source = Path(argv[0])
    data = source.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != FULL_SHA256:
        print(f"{source} has sha256 {digest}, not the card's {FULL_SHA256}: not the expected file")
        return 1
    header, *rows = data.decode("ascii").splitlines(keepends=True)
    kept = rows[::EVERY]
    out = Path(__file__).with_name("adult_subset.csv")
    out.write_text(header + "".join(kept), encoding="ascii", newline="")
    splits = [row.rstrip("\n").rsplit(",", 1)[1] for row in kept]
    print(f"{len(kept)} rows ({splits.count('train')} train, {splits.count('test')} test) -> {out}")
    print("sha256", hashlib.sha256(out.read_bytes()).hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Check the bundled news corpus (data/news/train.csv, test.csv) and print a summary.

Standard library only. Usage:

    python data/news/check_corpus.py [--dir DATA_DIR] [--near 0.5]

Checks, each failure printed with file and line, exit status 1 if any:
- format: AG News CSV exactly - no header, three fields label,title,description, every
  field in double quotes, an inner quote doubled, ASCII only, lines ending in "\\n";
- labels 1..4 and the expected class balance (260 per class in train, 60 in test);
- no empty field, no stray whitespace, no AG News quirks (backslashes, HTML entities);
- lengths: description 15-45 words, title 3-16 words;
- duplicates: no repeated title or description, and no near-copy (two items whose
  title+description word sets have Jaccard similarity >= --near), within or across splits;
- order: rows shuffled, not grouped by class (no run of more than MAX_RUN equal labels), so
  that the first N rows of a file are a fair sample.
The summary also reports class counts, lengths, vocabulary and the closest pairs found.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

CLASSES = {1: "World", 2: "Sports", 3: "Business", 4: "Sci/Tech"}
EXPECTED_PER_CLASS = {"train": 260, "test": 60}
DESC_WORDS = (15, 45)
TITLE_WORDS = (3, 16)
MAX_RUN = 12
ROW = re.compile(r'^"([^"]*)","((?:[^"]|"")*)","((?:[^"]|"")*)"$')
QUIRKS = re.compile(r"\\|&[a-z]+;|#\d+;|<[a-z/]|\s{2,}")
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def read_split(path: Path, errors: list[str]) -> list[tuple[int, int, str, str]]:
    """Return (line number, label, title, description) rows; record format errors."""
    if not path.exists():
        errors.append(f"{path}: missing file")
        return []
    n_errors = len(errors)
    raw = path.read_bytes()
    if not raw.endswith(b"\n"):
        errors.append(f"{path}: last line does not end with a newline")
    if b"\r" in raw:
        errors.append(f"{path}: carriage return found (lines must end with \\n only)")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        errors.append(f"{path}:{line}: non-ASCII byte {raw[e.start]:#x}")
        text = raw.decode("utf-8", errors="replace")
    rows = []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    for n, line in enumerate(lines, start=1):
        m = ROW.match(line)
        if not m:
            errors.append(f"{path}:{n}: not three double-quoted fields: {line[:70]!r}")
            continue
        label_s, title, desc = (g.replace('""', '"') for g in m.groups())
        if label_s not in {"1", "2", "3", "4"}:
            errors.append(f"{path}:{n}: label {label_s!r} is not one of 1, 2, 3, 4")
            continue
        rows.append((n, int(label_s), title, desc))
    # the csv module must read the file the same way
    with open(path, newline="", encoding="ascii", errors="replace") as f:
        parsed = [(int(r[0]), r[1], r[2]) for r in csv.reader(f) if len(r) == 3 and r[0].isdigit()]
    if len(errors) == n_errors and parsed != [r[1:] for r in rows]:
        errors.append(f"{path}: the csv module reads different rows than the line check")
    return rows


def check_fields(name: str, rows, errors: list[str]) -> None:
    for n, _, title, desc in rows:
        where = f"{name}:{n}"
        for field_name, field in (("title", title), ("description", desc)):
            if not field:
                errors.append(f"{where}: empty {field_name}")
            elif field != field.strip():
                errors.append(f"{where}: {field_name} has leading or trailing whitespace")
            if QUIRKS.search(field):
                errors.append(f"{where}: {field_name} has a backslash, entity, tag or double space")
        nt, nd = len(title.split()), len(desc.split())
        if not TITLE_WORDS[0] <= nt <= TITLE_WORDS[1]:
            lo, hi = TITLE_WORDS
            errors.append(f"{where}: title has {nt} words, expected {lo}-{hi}")
        if not DESC_WORDS[0] <= nd <= DESC_WORDS[1]:
            lo, hi = DESC_WORDS
            errors.append(f"{where}: description has {nd} words, expected {lo}-{hi}")


def nearest_pairs(items, near: float, errors: list[str]):
    """Compare every pair of items; flag near-copies, return the closest pairs."""
    sets = [words(title + " " + desc) for _, _, title, desc in items]
    best_any = (0.0, None, None)
    best_cross = (0.0, None, None)
    for i in range(len(items)):
        a = sets[i]
        for j in range(i + 1, len(items)):
            b = sets[j]
            inter = len(a & b)
            sim = inter / (len(a) + len(b) - inter)
            if sim > best_any[0]:
                best_any = (sim, i, j)
            if items[i][0] != items[j][0] and sim > best_cross[0]:
                best_cross = (sim, i, j)
            if sim >= near:
                errors.append(
                    f"near-copy (Jaccard {sim:.2f}): {items[i][0]}:{items[i][1]} "
                    f"{items[i][3]!r} ~ {items[j][0]}:{items[j][1]} {items[j][3]!r}"
                )
    return best_any, best_cross


def naive_bayes_accuracy(train, test) -> float:
    """Bag-of-words multinomial naive Bayes, train -> test (a rough difficulty gauge)."""
    counts = {c: Counter() for c in CLASSES}
    docs = Counter()
    for _, label, title, desc in train:
        counts[label].update(WORD.findall((title + " " + desc).lower()))
        docs[label] += 1
    vocab = set().union(*counts.values())
    totals = {c: sum(counts[c].values()) for c in CLASSES}
    right = 0
    for _, label, title, desc in test:
        toks = WORD.findall((title + " " + desc).lower())
        scores = {
            c: math.log(docs[c] / len(train))
            + sum(
                math.log((counts[c][t] + 1) / (totals[c] + len(vocab))) for t in toks if t in vocab
            )
            for c in CLASSES
        }
        right += max(scores, key=scores.get) == label
    return right / len(test)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", type=Path, default=Path(__file__).parent)
    p.add_argument("--near", type=float, default=0.5, help="Jaccard threshold for a near-copy")
    args = p.parse_args(argv)

    errors: list[str] = []
    splits = {s: read_split(args.dir / f"{s}.csv", errors) for s in EXPECTED_PER_CLASS}
    for s, rows in splits.items():
        check_fields(f"{s}.csv", rows, errors)
        per = {c: sum(r[1] == c for r in rows) for c in CLASSES}
        if rows and any(v != EXPECTED_PER_CLASS[s] for v in per.values()):
            errors.append(f"{s}.csv: class counts {per}, expected {EXPECTED_PER_CLASS[s]} each")
        run = longest = 1
        for a, b in zip(rows, rows[1:], strict=False):
            run = run + 1 if a[1] == b[1] else 1
            longest = max(longest, run)
        if rows and longest > MAX_RUN:
            errors.append(
                f"{s}.csv: {longest} consecutive rows share a label; "
                "the rows look grouped by class, shuffle them"
            )

    items = [(f"{s}.csv", n, t, d) for s, rows in splits.items() for n, _, t, d in rows]
    for field, idx in (("title", 2), ("description", 3)):
        seen: dict[str, str] = {}
        for it in items:
            key = " ".join(WORD.findall(it[idx].lower()))
            if key in seen:
                errors.append(f"duplicate {field}: {it[0]}:{it[1]} repeats {seen[key]}")
            seen.setdefault(key, f"{it[0]}:{it[1]}")
    best_any, best_cross = nearest_pairs(items, args.near, errors)

    try:
        shown = args.dir.resolve().relative_to(Path.cwd())
    except ValueError:
        shown = args.dir
    print(f"News corpus check: {shown}")
    for s, rows in splits.items():
        per = ", ".join(f"{c} {CLASSES[c]} {sum(r[1] == c for r in rows)}" for c in CLASSES)
        print(f"  {s}.csv: {len(rows)} rows ({per})")
        if rows:
            first = [r[1] for r in rows[:100]]
            print(
                "    first 100 rows by class: "
                + ", ".join(f"{CLASSES[c]} {first.count(c)}" for c in CLASSES)
            )
    all_rows = [r for rows in splits.values() for r in rows]
    if all_rows:
        dw = [len(r[3].split()) for r in all_rows]
        tw = [len(r[2].split()) for r in all_rows]
        print(
            f"  description words: min {min(dw)}, median {statistics.median(dw):g}, "
            f"max {max(dw)}; title words: min {min(tw)}, median {statistics.median(tw):g}, "
            f"max {max(tw)}"
        )
        vocab = set().union(*(words(r[2] + " " + r[3]) for r in all_rows))
        train_vocab = (
            set().union(*(words(r[2] + " " + r[3]) for r in splits["train"]))
            if splits["train"]
            else set()
        )
        test_tokens = [w for r in splits["test"] for w in WORD.findall((r[2] + " " + r[3]).lower())]
        oov = sum(w not in train_vocab for w in test_tokens) / max(1, len(test_tokens))
        print(f"  vocabulary: {len(vocab)} word types; test tokens unseen in train: {oov:.1%}")
        closest = (("closest pair", best_any), ("closest train/test pair", best_cross))
        for tag, (sim, i, j) in closest:
            if i is not None:
                print(
                    f"  {tag}: Jaccard {sim:.2f} ({items[i][0]}:{items[i][1]} "
                    f"~ {items[j][0]}:{items[j][1]}; near-copy threshold {args.near})"
                )
        if splits["train"] and splits["test"]:
            acc = naive_bayes_accuracy(splits["train"], splits["test"])
            print(
                f"  bag-of-words naive Bayes, train -> test accuracy: {acc:.1%} "
                "(a rough difficulty gauge, not a benchmark)"
            )
    if errors:
        print(f"FAIL: {len(errors)} problem(s)")
        for e in errors[:50]:
            print("  " + e)
        if len(errors) > 50:
            print(f"  ... and {len(errors) - 50} more")
        return 1
    print("OK: format, labels, balance, lengths and duplicates all pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())

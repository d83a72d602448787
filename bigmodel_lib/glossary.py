"""The course's bilingual glossary, English ↔ 中文 (chapter 13, the appendix).

``data/glossary.csv`` holds one row per technical term the chapters define, with the
columns ``term``, ``中文``, ``chapter``, ``definition`` (one line, English) and ``定义``
(one line, Chinese). ``lookup(term)`` finds a row by its English or its Chinese name:
case-insensitive and width-insensitive (NFKC folds full-width ``ＡＤＡＭ`` to ``ADAM``), with
spaces and hyphens treated alike. A miss raises ``KeyError`` saying the term is not in the
glossary and suggesting the closest names (``difflib``); an empty string, ``None`` or a
non-string raises a ``ValueError`` or ``TypeError`` that says what is expected.

The rule the appendix's test enforces: a chapter *introduces* a term where its markdown
writes the term in bold immediately followed by a Chinese name in parentheses,
``**term** (中文名)`` (a citation may follow the name after a semicolon or comma:
``**k-anonymous** (k-匿名; Sweeney 2002)``); every such pair must be a row of the glossary
with that Chinese name.
"""

from __future__ import annotations

import csv
import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

GLOSSARY_CSV = Path(__file__).resolve().parent.parent / "data" / "glossary.csv"
COLUMNS = ("term", "中文", "chapter", "definition", "定义")
# An English definition that ends with an abbreviation in parentheses, "... (SGD).", makes
# the abbreviation a name of the term too: lookup("SGD") finds "stochastic gradient descent".
ABBREVIATION = re.compile(r"\(([A-Za-z][A-Za-z0-9-]*)\)\.?$")


class NotInGlossary(KeyError):
    """Raised by ``lookup`` for a miss; its message names the closest terms."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Entry:
    """One glossary row: the English term, its Chinese name, the chapter that defines it
    (two digits, e.g. ``"03"``) and a one-line definition in each language."""

    term: str
    zh: str
    chapter: str
    definition: str
    definition_zh: str

    def __str__(self) -> str:
        return f"{self.term} ({self.zh}), chapter {self.chapter}: {self.definition} / {self.definition_zh}"


def normalize(text: str) -> str:
    """The key two names are compared by: NFKC (full width → half width), case-folded,
    hyphens, underscores and runs of white space made one space, British "-ise",
    "-ised", "-isation" … spelled "-ize", "-ized", "-ization", trimmed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[\s\-_‐‑–—]+", " ", text)
    text = re.sub(r"(?<=[a-z]{3})is(e|ed|es|ing|ation|ations)\b", r"iz\1", text)  # British -ise meets -ize
    return text.strip()


def _read(path: Path) -> tuple[Entry, ...]:
    if not path.is_file():
        raise FileNotFoundError(f"The glossary file {path} is missing; it ships with the course in data/.")
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: expected the columns {COLUMNS}, found {reader.fieldnames}.")
        rows = []
        for line, row in enumerate(reader, start=2):
            values = [(row[c] or "").strip() for c in COLUMNS]
            if not all(values):
                raise ValueError(f"{path}, line {line}: every column must be filled, got {values}.")
            rows.append(Entry(*values))
    return tuple(rows)


@functools.lru_cache(maxsize=4)
def load_glossary(path: str | Path | None = None) -> tuple[Entry, ...]:
    """All glossary entries, in file order (read once and cached)."""
    return _read(Path(path) if path is not None else GLOSSARY_CSV)


@functools.lru_cache(maxsize=4)
def _index(path: str | Path | None = None) -> dict[str, Entry]:
    index: dict[str, Entry] = {}
    for entry in load_glossary(path):
        for name in (entry.term, entry.zh):
            index.setdefault(normalize(name), entry)
    for entry in load_glossary(path):  # abbreviations come after the names, never override one
        alias = ABBREVIATION.search(entry.definition)
        if alias:
            index.setdefault(normalize(alias.group(1)), entry)
    return index


def _check_query(term: object) -> str:
    if term is None:
        raise TypeError("lookup() needs a term, a string in English or Chinese (e.g. 'dropout', '随机失活'), got None.")
    if not isinstance(term, str):
        raise TypeError(
            f"lookup() needs a term as a string in English or Chinese, got {type(term).__name__}: {term!r}."
        )
    key = normalize(term)
    if not key:
        raise ValueError("lookup() got an empty term; type an English or Chinese name, e.g. 'dropout' or '随机失活'.")
    return key


def lookup(term: str, path: str | Path | None = None) -> Entry:
    """The glossary entry whose English or Chinese name is ``term``.

    Matching ignores case, full/half width (NFKC), the difference between spaces,
    hyphens and underscores, a final plural ("-s", "-es", "-ies"), an adjective or
    participle for its noun ("k-anonymous" finds "k-anonymity", "calibrated" finds
    "calibration") and British/American "-ise"/"-ize":
    ``lookup("Cross Entropy")``, ``lookup("ｃｒｏｓｓ-entropy")`` and ``lookup("交叉熵")`` give
    the same entry. An abbreviation that closes the English definition, "... (SGD).",
    works as a name. A miss raises ``NotInGlossary`` (a ``KeyError``) with up to three
    suggestions ("did you mean …").
    """
    key = _check_query(term)
    index = _index(path)
    # A plural ("logits", "proxies") finds its singular, an adjective or participle its noun
    # ("k-anonymous" → "k-anonymity", "calibrated" → "calibration").
    candidates = (key, key[:-1] if key.endswith("s") else None, key[:-2] if key.endswith("es") else None,
                  re.sub(r"ies$", "y", key), re.sub(r"ous$", "ity", key),
                  re.sub(r"ated$", "ation", re.sub(r"ized$", "ization", key)))
    for candidate in candidates:
        if candidate in index:
            return index[candidate]
    # Suggestions: names that contain the query first ("loss" → "loss function"), then
    # names spelled alike ("dropot" → "dropout").
    candidates = search(term, path, limit=3) + [index[c] for c in difflib.get_close_matches(key, list(index), n=3)]
    names: list[str] = []
    for e in candidates:
        name = f"{e.term} ({e.zh})"
        if name not in names and len(names) < 3:
            names.append(name)
    hint = f" Did you mean: {', '.join(names)}?" if names else " Browse the whole glossary in chapter 13."
    raise NotInGlossary(f"{term!r} is not in the glossary.{hint}")


def search(query: str, path: str | Path | None = None, limit: int = 10) -> list[Entry]:
    """Entries whose English or Chinese name contains ``query`` (normalized): exact
    matches first, then names that start with it, shorter names first; an empty query
    gives an empty list. The appendix's search box uses it."""
    if not isinstance(query, str):
        raise TypeError(f"search() needs a string, got {type(query).__name__}.")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit!r}.")
    key = normalize(query)
    if not key:
        return []
    hits = [e for e in load_glossary(path) if key in normalize(e.term) or key in normalize(e.zh)]
    names = lambda e: (normalize(e.term), normalize(e.zh))  # noqa: E731
    hits.sort(key=lambda e: (key not in names(e), not any(n.startswith(key) for n in names(e)), len(e.term)))
    return hits[:limit]


# The "introduces a term" rule: bold text, one space, then parentheses that open with the
# Chinese name; what follows a semicolon or comma inside them (a citation) is not part of it:
# **k-anonymous** (k-匿名; Sweeney 2002, [ref:sweeney2002]) introduces ("k-anonymous", "k-匿名").
INTRODUCED = re.compile(r"\*\*([^*\n]+?)\*\* \(([^()\n;；,，]*[\u4e00-\u9fff][^()\n;；,，]*)[)；;，,]")


def introduced_terms(markdown: str) -> list[tuple[str, str]]:
    """The ``(term, 中文)`` pairs a chapter's markdown introduces with ``**term** (中文)``
    (or ``**term** (中文; more)``, the Chinese name ending at a semicolon or comma); text in
    code spans (`` `**term** (中文)` ``, the rule written out) introduces nothing."""
    prose = re.sub(r"`[^`\n]*`", "", markdown)
    return [(m.group(1).strip(), m.group(2).strip()) for m in INTRODUCED.finditer(prose)]


def chapter_markdown(path: str | Path) -> str:
    """The markdown cells of a jupytext percent notebook (``notebooks/NN_x.py``), joined,
    with the leading ``# `` of each line removed."""
    cells, current, in_md = [], [], False
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("# %%"):
            if in_md:
                cells.append("\n".join(current))
            current, in_md = [], "[markdown]" in line
            continue
        if in_md:
            current.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
    if in_md:
        cells.append("\n".join(current))
    return "\n\n".join(cells)

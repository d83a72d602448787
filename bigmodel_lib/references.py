"""The course's reference list: ``data/references.bib`` read and rendered (chapter 13).

A chapter cites a work in markdown by its key in square brackets, ``[ref:vaswani2017]``;
the key is the first author's family name in lowercase ASCII plus the year, with a letter
(a, b, …) when one author has two works in a year. ``load_bib`` reads the file the course
writes (one ``field = {value},`` per line, as in ``data/references.bib``), ``cited_keys``
finds the keys a text uses, and ``format_reference`` renders one entry as a line of
markdown with its arXiv or DOI link.
"""

from __future__ import annotations

import re
from pathlib import Path

REFERENCES_BIB = Path(__file__).resolve().parent.parent / "data" / "references.bib"
CITE = re.compile(r"\[ref:([A-Za-z0-9_-]+)\]")
KEY = re.compile(r"^[a-z]+\d{4}[a-z]?$")
# New-style arXiv identifiers (April 2007 on): YYMM.NNNN (to 2014) or YYMM.NNNNN, an optional version.
ARXIV_ID = re.compile(r"^(\d{2})(0[1-9]|1[0-2])\.(\d{4,5})(v\d+)?$")

_ENTRY = re.compile(r"@(\w+)\s*\{\s*([^,\s]+)\s*,(.*?)\n\}", re.S)
_FIELD = re.compile(r"^\s*(\w+)\s*=\s*\{(.*)\},?\s*$")
_LATEX = {
    r"{\`e}": "è", r"{\'e}": "é", r"{\'a}": "á", r"{\'\i}": "í", r"{\'U}": "Ú", r'{\"u}': "ü",
    r"{\c{c}}": "ç", r"{\L}": "Ł",
}


def arxiv_id_ok(identifier: str) -> bool:
    """Whether ``identifier`` is a well-formed new-style arXiv id (e.g. ``1706.03762``):
    a real month, four digits after the dot until 2014, five from 2015 on."""
    m = ARXIV_ID.match(identifier)
    if not m:
        return False
    year, digits = int(m.group(1)), len(m.group(3))
    if year < 7:
        return False
    return digits == (4 if year < 15 else 5)


def delatex(text: str) -> str:
    """The few LaTeX accents the bib file uses, as Unicode, and protective braces dropped."""
    for code, char in _LATEX.items():
        text = text.replace(code, char)
    return text.replace("{", "").replace("}", "").replace("--", "–")


def load_bib(path: str | Path | None = None) -> dict[str, dict[str, str]]:
    """Entries of the course's bib file by key; each entry's fields plus ``ENTRYTYPE``.

    A duplicated key or a field line the reader does not understand raises ``ValueError``
    naming the key, so a typo in the file fails loudly.
    """
    path = Path(path) if path is not None else REFERENCES_BIB
    text = path.read_text(encoding="utf-8")
    entries: dict[str, dict[str, str]] = {}
    for m in _ENTRY.finditer(text):
        kind, key, body = m.group(1).lower(), m.group(2), m.group(3)
        if key in entries:
            raise ValueError(f"{path}: the key {key!r} appears twice.")
        fields = {"ENTRYTYPE": kind}
        for line in body.strip().splitlines():
            f = _FIELD.match(line)
            if not f:
                raise ValueError(f"{path}, entry {key!r}: cannot read the line {line.strip()!r}.")
            fields[f.group(1).lower()] = f.group(2).strip()
        entries[key] = fields
    if text.count("@") != len(entries):
        raise ValueError(f"{path}: found {text.count('@')} '@' but read {len(entries)} entries; check the syntax.")
    return entries


def cited_keys(text: str) -> list[str]:
    """The citation keys ``[ref:key]`` a text uses, in order of first use."""
    seen: dict[str, None] = {}
    for m in CITE.finditer(text):
        seen.setdefault(m.group(1), None)
    return list(seen)


def format_authors(authors: str, most: int = 3) -> str:
    """``"Family, Given and Family, Given"`` as ``"G. Family, G. Family"``, ``"et al."`` past ``most``;
    an institution in braces, ``{European Parliament and Council}``, as it is written."""
    if authors.startswith("{") and authors.endswith("}"):
        return delatex(authors)
    people = [p.strip() for p in delatex(authors).split(" and ")]
    names = []
    for p in people:
        if p == "others":
            continue
        family, _, given = p.partition(",")
        initials = " ".join(f"{g[0]}." for g in given.replace("-", " ").split() if g)
        names.append(f"{initials} {family.strip()}".strip())
    etal = len(names) > most or "others" in people
    return ", ".join(names[:most]) + (" et al." if etal else "")


def format_reference(key: str, entry: dict[str, str]) -> str:
    """One entry as a markdown line: authors (year). *Title*. Venue. Link."""
    venue = entry.get("journal") or entry.get("booktitle") or entry.get("publisher") or entry.get("howpublished", "")
    line = f"**[{key}]** {format_authors(entry['author'])} ({entry['year']}). *{delatex(entry['title'])}*."
    if venue:
        line += f" {delatex(venue)}."
    if "eprint" in entry:
        line += f" [arXiv:{entry['eprint']}](https://arxiv.org/abs/{entry['eprint']})"
    elif "doi" in entry:
        line += f" [doi:{entry['doi']}](https://doi.org/{entry['doi']})"
    elif "url" in entry:
        line += f" <{entry['url']}>"
    return line

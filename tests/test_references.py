"""Tests of data/references.bib and bigmodel_lib.references (chapter 13).

Every ``[ref:key]`` a notebook uses must be an entry of ``data/references.bib``; every
entry has an author, a year and a title; its key is the first author's family name in
lowercase ASCII plus the year (plus a/b); every arXiv id is well-formed.
"""

import re
import unicodedata
from pathlib import Path

import pytest

from bigmodel_lib.references import (
    KEY,
    arxiv_id_ok,
    cited_keys,
    delatex,
    format_authors,
    format_reference,
    load_bib,
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
BIB = load_bib()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_key_a_notebook_cites_is_in_the_bib(notebook):
    missing = [k for k in cited_keys(notebook.read_text(encoding="utf-8")) if k not in BIB]
    assert not missing, f"{notebook.name} cites keys that data/references.bib lacks: {missing}"


def test_the_chapters_cite_with_keys():
    used = set()
    for nb in NOTEBOOKS:
        used |= set(cited_keys(nb.read_text(encoding="utf-8")))
    assert len(used) >= 35  # chapters 00-08 alone cite 39 works


@pytest.mark.parametrize("key", sorted(BIB))
def test_every_entry_is_complete_and_well_keyed(key):
    e = BIB[key]
    for field in ("author", "title", "year"):
        assert e.get(field), f"{key}: no {field}"
    assert re.fullmatch(r"(1[89]|20)\d\d", e["year"]), f"{key}: year {e['year']!r}"
    assert KEY.match(key), f"{key}: a key is family name + year (+ a letter)"
    assert key[-5:-1] == e["year"] or key[-4:] == e["year"], f"{key}: the key's year is not {e['year']}"
    if not e["author"].startswith("{"):  # a body such as {European Parliament and Council} keys as it likes
        first_family = delatex(e["author"]).split(" and ")[0].split(",")[0]
        ascii_family = unicodedata.normalize("NFKD", first_family).encode("ascii", "ignore").decode().lower()
        assert key.startswith(re.sub(r"[^a-z]", "", ascii_family)), f"{key}: first author is {first_family}"
    assert any(f in e for f in ("journal", "booktitle", "publisher", "howpublished")), f"{key}: no venue"
    if "eprint" in e:
        assert arxiv_id_ok(e["eprint"]), f"{key}: malformed arXiv id {e['eprint']!r}"
        assert e.get("archiveprefix") == "arXiv"
    if "doi" in e:
        assert re.fullmatch(r"10\.\d{4,9}/\S+", e["doi"]), f"{key}: malformed DOI {e['doi']!r}"


def test_an_author_with_two_works_in_a_year_gets_letters():
    stems = {}
    for key in BIB:
        stems.setdefault(re.sub(r"[a-z]$", "", key), []).append(key)
    for stem, keys in stems.items():
        if len(keys) > 1:
            assert sorted(keys) == [f"{stem}{c}" for c in "abcdefgh"[: len(keys)]], keys


@pytest.mark.parametrize("identifier, ok", [
    ("1706.03762", True), ("1912.01703", True), ("1406.2661", True), ("2404.10102", True),
    ("1706.03762v5", True), ("1713.01234", False), ("1700.01234", False), ("1406.26610", False),
    ("2404.1010", False), ("0612.1234", False), ("cs/0112017", False), ("arXiv:1706.03762", False),
])
def test_arxiv_ids(identifier, ok):
    assert arxiv_id_ok(identifier) is ok


def test_cited_keys_in_order_without_repeats():
    text = "as [ref:vaswani2017] show, and [ref:devlin2019]; again [ref:vaswani2017]. Not [ref: x]."
    assert cited_keys(text) == ["vaswani2017", "devlin2019"]


def test_format_reference():
    line = format_reference("vaswani2017", BIB["vaswani2017"])
    assert line.startswith("**[vaswani2017]** A. Vaswani, N. Shazeer, N. Parmar et al. (2017). "
                           "*Attention Is All You Need*.")
    assert line.endswith("[arXiv:1706.03762](https://arxiv.org/abs/1706.03762)")
    assert "Ł. Kaiser" not in line  # only three authors are named
    assert format_authors("Hochreiter, Sepp and Schmidhuber, J{\\\"u}rgen") == "S. Hochreiter, J. Schmidhuber"
    assert "doi.org/10.1162" in format_reference("hochreiter1997", BIB["hochreiter1997"])
    assert format_authors("{European Parliament and Council of the European Union}") == (
        "European Parliament and Council of the European Union")


def test_load_bib_rejects_a_duplicate_and_a_broken_line(tmp_path):
    entry = "@misc{x2020,\n  author = {X, Y},\n  title = {T},\n  year = {2020},\n}\n"
    p = tmp_path / "r.bib"
    p.write_text(entry + entry, encoding="utf-8")
    with pytest.raises(ValueError, match="appears twice"):
        load_bib(p)
    p.write_text("@misc{x2020,\n  author = X,\n}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot read the line"):
        load_bib(p)

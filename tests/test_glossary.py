"""Tests of bigmodel_lib.glossary and of data/glossary.csv (chapter 13).

The glossary rule: a chapter *introduces* a term where its markdown writes the term in
bold immediately followed by its Chinese name in parentheses, ``**term** (中文名)``.
``test_every_introduced_term_is_in_the_glossary`` collects every such pair from
``notebooks/[0-9][0-9]_*.py`` and checks that the term is a row of ``data/glossary.csv``
(case- and width-insensitive) with the same Chinese name; ``test_no_chinese_name_for_two_terms``
checks that no Chinese name stands for two different terms. Bold text without a Chinese
name in parentheses (emphasis, labels such as **Exercise 1.**) introduces nothing.
"""

import csv
import re
from collections import defaultdict
from pathlib import Path

import pytest

from bigmodel_lib import glossary
from bigmodel_lib.glossary import (
    COLUMNS,
    GLOSSARY_CSV,
    NotInGlossary,
    chapter_markdown,
    introduced_terms,
    load_glossary,
    lookup,
    normalize,
    search,
)

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.py"))
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_lookup_english_and_chinese_give_the_same_entry():
    e = lookup("dropout")
    assert (e.term, e.zh, e.chapter) == ("dropout", "随机失活", "04")
    assert lookup("随机失活") == e


@pytest.mark.parametrize("query", ["Cross-Entropy", "CROSS ENTROPY", "ｃｒｏｓｓ－ｅｎｔｒｏｐｙ",
                                   "cross_entropy", "  交叉熵 "])
def test_lookup_ignores_case_width_and_separators(query):
    assert lookup(query).term == "cross-entropy"


def test_lookup_full_width_chinese_punctuation_and_digits():
    # NFKC folds the full-width digit and letter of "Ｆ１ 值" to "F1 值".
    assert lookup("Ｆ１ 值").term == "F1 score"


def test_a_miss_suggests_close_terms():
    with pytest.raises(NotInGlossary, match=r"'dropot' is not in the glossary\. Did you mean: dropout \(随机失活\)"):
        lookup("dropot")
    with pytest.raises(KeyError):  # NotInGlossary is a KeyError, so `except KeyError` works
        lookup("交叉商")


def test_a_miss_with_nothing_close_says_where_to_look():
    with pytest.raises(KeyError, match="not in the glossary. Browse"):
        lookup("zzzzqqqq")


@pytest.mark.parametrize("bad, error, message", [
    ("", ValueError, "empty term"),
    ("   ", ValueError, "empty term"),
    (None, TypeError, "got None"),
    (3, TypeError, "got int"),
    (["dropout"], TypeError, "got list"),
    (b"dropout", TypeError, "got bytes"),
])
def test_bad_input_gets_a_clear_error(bad, error, message):
    with pytest.raises(error, match=message):
        lookup(bad)


def test_search_finds_substrings_exact_first():
    hits = search("attention")
    assert hits[0].term == "attention" and all("attention" in h.term for h in hits)
    assert [h.term for h in search("注意力头")] == ["attention head"]
    assert search("") == [] and search("   ") == []
    assert len(search("a", limit=3)) == 3
    with pytest.raises(ValueError, match="positive integer"):
        search("a", limit=0)
    with pytest.raises(TypeError):
        search(None)


def test_the_csv_has_the_columns_and_enough_terms_for_every_chapter():
    with GLOSSARY_CSV.open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    assert tuple(header) == COLUMNS
    rows = load_glossary()
    assert len(rows) >= 150
    chapters = {r.chapter for r in rows}
    assert chapters == {f"{n:02d}" for n in range(13)}
    for r in rows:
        assert HAN.search(r.zh), f"{r.term}: the Chinese name {r.zh!r} has no Chinese character"
        assert HAN.search(r.definition_zh), f"{r.term}: the Chinese definition is not Chinese"
        assert not HAN.search(r.definition), f"{r.term}: the English definition holds Chinese"
        assert "\n" not in r.definition and "\n" not in r.definition_zh


def test_no_term_twice():
    seen = defaultdict(list)
    for r in load_glossary():
        seen[normalize(r.term)].append(r.zh)
    assert not {k: v for k, v in seen.items() if len(v) > 1}


def test_no_chinese_name_for_two_terms():
    by_zh = defaultdict(set)
    for r in load_glossary():
        by_zh[normalize(r.zh)].add(normalize(r.term))
    names = {normalize(r.term) for r in load_glossary()}
    assert not {zh: terms for zh, terms in by_zh.items() if len(terms) > 1}
    # A Chinese name must not be another term's English name either (lookup would be ambiguous).
    assert not names & set(by_zh)


def test_a_broken_csv_is_reported(tmp_path):
    bad = tmp_path / "g.csv"
    bad.write_text("term,中文\nx,y\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected the columns"):
        load_glossary(bad)
    bad.write_text(",".join(COLUMNS) + "\nloss,损失,02,,\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: every column must be filled"):
        load_glossary(bad)
    with pytest.raises(FileNotFoundError):
        load_glossary(tmp_path / "missing.csv")


def test_the_rule_for_introduced_terms():
    md = ("The **learning rate** (学习率) sets the step. **Exercise 1.** (by hand) is no term; "
          "**bold** alone is no term; **ROC curve** (ROC 曲线) is; **x**(没有空格) is not; "
          "the rule in code, `**term** (中文名)`, is not; **k-anonymous** (k-匿名; Sweeney 2002) is, "
          "and so is **DP-SGD** (差分隐私随机梯度下降，Abadi et al.).")
    assert introduced_terms(md) == [("learning rate", "学习率"), ("ROC curve", "ROC 曲线"), ("k-anonymous", "k-匿名"),
                                    ("DP-SGD", "差分隐私随机梯度下降")]


def test_chapter_markdown_keeps_markdown_cells_only(tmp_path):
    nb = tmp_path / "99_x.py"
    nb.write_text('# %% [markdown]\n# **loss** (损失函数) text\n\n# %%\nx = "**code** (代码)"\n'
                  "# %% [markdown]\n# more\n", encoding="utf-8")
    assert introduced_terms(chapter_markdown(nb)) == [("loss", "损失函数")]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_introduced_term_is_in_the_glossary(notebook):
    problems = []
    for term, zh in introduced_terms(chapter_markdown(notebook)):
        try:
            entry = lookup(term)
        except KeyError as e:
            problems.append(f"**{term}** ({zh}): {e}")
            continue
        if normalize(entry.zh) != normalize(zh):
            problems.append(f"**{term}** ({zh}): the glossary calls it {entry.zh!r}")
    assert not problems, f"{notebook.name}:\n" + "\n".join(problems)


def test_chapters_introduce_their_key_terms():
    """Every chapter 00-08 introduces some terms in the ``**term** (中文)`` form."""
    for nb in NOTEBOOKS:
        if nb.name[:2] <= "08":
            assert introduced_terms(chapter_markdown(nb)), f"{nb.name} introduces no term with its Chinese name"


def test_cache_reads_the_file_once():
    glossary.load_glossary.cache_clear()
    glossary._index.cache_clear()
    lookup("loss function")
    lookup("梯度")
    assert glossary.load_glossary.cache_info().misses == 1


@pytest.mark.parametrize("query, term", [
    ("SGD", "stochastic gradient descent"), ("mse", "mean squared error"), ("LayerNorm", "layer normalization"),
    ("logits", "logit"), ("Parameters", "parameter"), ("exponential moving averages", "exponential moving average"),
    ("Bayesian optimisation", "Bayesian optimization"), ("equalised odds", "equalized odds"),
    ("regularisation", "regularization"), ("calibrated", "calibration"), ("regularised", "regularization"),
    ("k-anonymous", "k-anonymity"), ("proxies", "proxy"),
    ("membership inference attacks", "membership-inference attack"),
    ("noise", None), ("loss", None),
])
def test_abbreviations_plurals_and_spellings(query, term):
    if term is None:  # not terms on their own; "loss" must not become "los"
        with pytest.raises(KeyError, match="not in the glossary"):
            lookup(query)
    else:
        assert lookup(query).term == term


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_title_has_a_chinese_subtitle(notebook):
    """The title line ``# NN · Title`` is followed by one line ``*中文：……*`` (chapter 13's bridge)."""
    lines = chapter_markdown(notebook).splitlines()
    assert re.fullmatch(rf"# {notebook.name[:2]} · .+", lines[0]), f"{notebook.name}: title line is {lines[0]!r}"
    assert re.fullmatch(r"\*中文：[^*]+\*", lines[1]) and HAN.search(lines[1]), (
        f"{notebook.name}: the line under the title must be '*中文：……*', got {lines[1]!r}")

"""Tests of bigmodel_lib.cjk: Chinese text in figures when a CJK font exists, a clean
English fallback when none does (chapter 13)."""

import warnings

import matplotlib
import matplotlib.pyplot as plt
import pytest
from matplotlib import font_manager

from bigmodel_lib import cjk

DEJAVU = font_manager.findfont("DejaVu Sans")


@pytest.fixture(autouse=True)
def restore_matplotlib():
    with matplotlib.rc_context():
        before = cjk._active
        yield
        cjk._active = before


def draw(title: str) -> list[str]:
    """Draw a figure with ``title`` and return the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.plot([0, 1], [-1, 1], label=title)
        ax.set_title(title)
        ax.legend()
        fig.canvas.draw()
        plt.close(fig)
    return [str(w.message) for w in caught]


def test_a_latin_font_has_no_chinese_glyphs(tmp_path):
    assert not cjk.has_chinese_glyphs(DEJAVU)
    assert not cjk.has_chinese_glyphs(tmp_path / "missing.otf")
    not_a_font = tmp_path / "x.ttf"
    not_a_font.write_bytes(b"not a font")
    assert not cjk.has_chinese_glyphs(not_a_font)


def test_a_named_font_without_chinese_is_refused():
    with pytest.raises(ValueError, match="not a font file with Chinese glyphs"):
        cjk.use_cjk_font(DEJAVU)


def test_without_a_cjk_font_nothing_changes_and_labels_stay_english(monkeypatch):
    monkeypatch.setattr(cjk, "_mplfonts_file", lambda: None)
    monkeypatch.setattr(cjk, "_known_font_file", lambda: None)
    cjk._active = None
    before = list(matplotlib.rcParams["font.sans-serif"])
    assert cjk.find_cjk_font() is None
    assert cjk.use_cjk_font() is None
    assert matplotlib.rcParams["font.sans-serif"] == before
    assert cjk.active_cjk_font() is None
    label = cjk.zh_or_en("交叉熵", "cross-entropy")
    assert label == "cross-entropy"
    assert draw(label) == []  # the fallback draws without a single warning


def test_chinese_without_a_cjk_font_is_what_the_fallback_avoids():
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        assert any("missing from font" in w for w in draw("交叉熵"))


@pytest.mark.skipif(cjk.find_cjk_font() is None, reason="no CJK font installed (pip install -e '.[zh]')")
def test_with_a_cjk_font_chinese_draws_without_warnings():
    family = cjk.use_cjk_font()
    assert family and matplotlib.rcParams["font.sans-serif"][0] == family
    assert cjk.zh_or_en("交叉熵", "cross-entropy") == "交叉熵"
    assert draw("交叉熵 −1") == []
    assert cjk.use_cjk_font() == family  # idempotent

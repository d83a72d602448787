"""Chinese text in matplotlib figures, when a CJK font is available (chapter 13).

matplotlib's default font (DejaVu Sans) has no Chinese glyphs: a title in Chinese draws
empty boxes and warns "Glyph … missing from font". ``use_cjk_font()`` looks for a font that
covers Chinese, registers it with matplotlib and puts it first in ``font.sans-serif``:

1. a font file you name (``path=...``);
2. the Noto Sans CJK SC font shipped by the PyPI package ``mplfonts`` (installed by the
   course's optional ``zh`` extra: ``pip install -e ".[zh]"``);
3. a Chinese font matplotlib already knows (Noto Sans CJK, Source Han Sans, WenQuanYi,
   SimHei, Microsoft YaHei, PingFang …), e.g. from the system's font packages.

It returns the family name it set, or ``None`` when there is none, silently: then
``zh_or_en(zh, en)`` gives the English label, so a figure never shows empty boxes and
never warns. ``has_chinese_glyphs(path)`` is the test a font file must pass: it must map
the characters of "中文术语表".
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

SAMPLE = "中文术语表"
KNOWN_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "Hiragino Sans GB",
    "AR PL UMing CN", "Noto Serif CJK SC",
)
MPLFONTS_FILE = "NotoSansCJKsc-Regular.otf"

_active: str | None = None


def has_chinese_glyphs(path: str | Path) -> bool:
    """Whether the font file at ``path`` maps every character of ``SAMPLE``; ``False`` for a
    file that is missing or is not a font."""
    try:
        charmap = FT2Font(str(path)).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False
    return all(ord(c) in charmap for c in SAMPLE)


def _mplfonts_file() -> Path | None:
    spec = importlib.util.find_spec("mplfonts")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "fonts" / MPLFONTS_FILE
        if candidate.is_file():
            return candidate
    return None


def _known_font_file() -> Path | None:
    by_name = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for family in KNOWN_FAMILIES:
        if family in by_name and has_chinese_glyphs(by_name[family]):
            return Path(by_name[family])
    return None


def find_cjk_font(path: str | Path | None = None) -> Path | None:
    """The first font file that covers Chinese: ``path`` if given (a ``ValueError`` when it
    does not cover Chinese), else mplfonts' Noto Sans CJK SC, else a known system font."""
    if path is not None:
        if not has_chinese_glyphs(path):
            raise ValueError(f"{path} is not a font file with Chinese glyphs (it must map {SAMPLE!r}).")
        return Path(path)
    for candidate in (_mplfonts_file(), _known_font_file()):
        if candidate is not None and has_chinese_glyphs(candidate):
            return candidate
    return None


def use_cjk_font(path: str | Path | None = None) -> str | None:
    """Register a Chinese font with matplotlib and make it the first sans-serif family.

    Returns the family name, or ``None`` (and changes nothing) when no font covers
    Chinese. Calling it again is cheap and gives the same answer.
    """
    global _active
    font_file = find_cjk_font(path)
    if font_file is None:
        return None
    font_manager.fontManager.addfont(str(font_file))
    family = font_manager.FontProperties(fname=str(font_file)).get_name()
    rc = matplotlib.rcParams
    rc["font.sans-serif"] = [family] + [f for f in rc["font.sans-serif"] if f != family]
    if "sans-serif" not in rc["font.family"]:
        rc["font.family"] = ["sans-serif"]
    rc["axes.unicode_minus"] = False  # CJK fonts often lack U+2212; use the ASCII minus
    _active = family
    return family


def active_cjk_font() -> str | None:
    """The family ``use_cjk_font`` set in this session, or ``None``."""
    return _active


def zh_or_en(zh: str, en: str) -> str:
    """``zh`` when a Chinese font is active (``use_cjk_font`` succeeded), else ``en``."""
    return zh if _active is not None else en

"""News-topic data: AG News and the course's bundled corpus (chapters 07 and 08).

``load_news(split)`` returns the texts and 0-based labels of one split from the first
source that is available, and always says which one it used (``NewsSplit.source``):

1. ``"ag_news_dir"``: a folder of AG News CSVs named by ``$BIGMODEL_AG_NEWS_DIR``. It
   needs ``train.csv``. With a ``test.csv`` beside it, that file is the test split (its
   classes matched to ``train.csv``'s by name) and 5% of ``train.csv`` becomes the
   validation split; without one, 5% of ``train.csv`` becomes validation and another
   10% becomes test.
2. ``"datasets"``: the full AG News from the Hugging Face hub, only when the profile
   allows the network (``bml.network_allowed()``, i.e. Colab / the ``gpu`` profile).
   Its official test split is the test split; 5% of its training split is validation.
3. ``"bundled"``: the course's own corpus in ``data/news/`` (``train.csv`` and
   ``test.csv``); 10% of ``train.csv`` is validation (the corpus is small).

How rows are carved out of a training file. Within each class, rows are ordered by the
sha256 of ``SPLIT_SALT + text``; the first ``round(fraction * n_class)`` rows (at
least one) go to validation, the next ones to test, the rest stay in train. The split
is therefore class-stratified, reproducible on every machine and with every library
version (no random number generator involved), and a row's split does not depend on
where it sits in the file. Copies of one text share a split (train first, so no text is
in two splits). Each split keeps the file's row order.

``max_rows`` takes a class-balanced subset (as equal per class as the data allows),
chosen by the same kind of hash salted with ``seed``: the same rows for the same seed.

File formats read by ``read_news_csv``:

- AG News (no header): ``label,title,description`` with labels 1..4 in the order of
  ``AG_NEWS_CLASSES``. Title and description are cleaned and joined as
  ``"title. description"`` (no period is added when the title already ends with
  ``. ! ? : ;``, perhaps followed by a closing quote or bracket).
- A ``label,text`` header, then one ``label,text`` row per item. The two columns may
  come in either order and other named columns are ignored. String labels: when
  every label is an AG News class name (any case), the indices follow
  ``AG_NEWS_CLASSES``; otherwise the classes are the sorted unique labels. Integer
  labels are 1-based (like AG News) when the smallest label is 1 and 0-based when it
  is 0, unless ``first_label`` says which; the largest label is the last class (unless
  ``num_classes`` is given). The classes are named by the first ones of
  ``AG_NEWS_CLASSES`` when there are at most four, else by the label numbers as written.
"""

from __future__ import annotations

import csv
import hashlib
import html
import html.entities
import io
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bigmodel_lib import _args

AG_NEWS_CLASSES = ["World", "Sports", "Business", "Sci/Tech"]
SPLITS = ("train", "validation", "test")
SOURCES = ("ag_news_dir", "datasets", "bundled")
AG_NEWS_ENV = "BIGMODEL_AG_NEWS_DIR"
HF_AG_NEWS = "fancyzhx/ag_news"  # the hub id of AG News (formerly "ag_news")
SPLIT_SALT = "bigmodel-course-news-split-v1"
AG_VALIDATION_FRACTION = 0.05  # of train.csv, for AG News (a folder or the datasets library)
AG_TEST_FRACTION = 0.10  # of train.csv, when the folder has no test.csv
BUNDLED_VALIDATION_FRACTION = 0.10  # of the bundled train.csv


@dataclass
class NewsSplit:
    """One split of a news-topic dataset: texts, 0-based labels and where they came from."""

    texts: list[str]
    labels: list[int]
    label_names: list[str] = field(default_factory=lambda: list(AG_NEWS_CLASSES))
    source: str = ""
    first_label: int | None = None  # read from a file with class numbers: the first one (0 or 1)

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError(
                f"NewsSplit needs one label per text, got {len(self.texts)} texts "
                f"and {len(self.labels)} labels"
            )
        k = len(self.label_names)
        bad = [y for y in self.labels if not isinstance(y, int) or not 0 <= y < k]
        if bad:
            raise ValueError(
                f"labels must be integers in 0..{k - 1} (one per name in {self.label_names}), "
                f"found {bad[0]!r}"
            )

    def __len__(self) -> int:
        return len(self.texts)

    def class_counts(self) -> dict[str, int]:
        """How many items each class has, in label order."""
        counts = [0] * len(self.label_names)
        for y in self.labels:
            counts[y] += 1
        return dict(zip(self.label_names, counts, strict=True))


# ---------------------------------------------------------------------------- cleaning

# AG News lost the "&" of its HTML entities to a space (" #39;" for "&#39;", " quot;"
# for "&quot;"). Only these names are restored: words such as "per cent;" or "real;"
# end in ";" in ordinary text too.
_LOST_ENTITY_NAMES = (
    "quot|amp|lt|gt|nbsp|hellip|rsquo|lsquo|rdquo|ldquo|mdash|ndash|apos"
    "|[A-Za-z](?:acute|grave|circ|uml|tilde|cedil|ring|slash)|pound(?=;\\d)"
)
_LOST_ENTITY = re.compile(rf"(?:^| )(?=(?:#\d{{1,5}}|{_LOST_ENTITY_NAMES});)")
_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
# Markup tags by name: Reuters items also put tickers in angle brackets ("<MSFT.O>"), which
# are words to keep, not tags.
_HTML_TAG = re.compile(
    r"</?(?:a|b|big|blockquote|br|center|cite|code|del|div|em|font|h[1-6]|hr|i|img|ins|li|"
    r"nobr|ol|p|pre|q|s|small|span|strike|strong|sub|sup|table|td|th|tr|tt|u|ul)"
    r"(?=[\s/>])[^<>]*>",
    re.IGNORECASE,
)
_BACKSLASHES = re.compile(r"\\+")
_SPACES = re.compile(r"\s+")
_ENDS_SENTENCE = re.compile(r"[.!?:;][\"')\]]*$")


def clean_news_text(text: str) -> str:
    """Undo AG News's quirks (chapter 07): entities, escaped markup, backslashes, spaces.

    - ``" #39;"`` -> ``'``, ``" #36;"`` -> ``$``, ``" quot;"`` -> ``"``, ``" amp;"`` -> ``&``
      and other entities whose ``&`` became a space (``#151;`` is an em dash);
    - escaped markup ``&lt;b&gt;...&lt;/b&gt;`` and ``&lt;A HREF=...&gt;`` links: the tags
      are removed, the words between them kept (a ticker such as ``<MSFT.O>`` stays);
    - only ``&name;`` with its ``;`` is an entity: ``AT&T`` and ``Sales&regulation`` stay;
    - ``\\$`` -> ``$``; other backslashes stood for line breaks and become spaces;
    - runs of spaces become one space; leading and trailing spaces go.
    """
    if not isinstance(text, str):
        raise TypeError(f"clean_news_text expects a string, got {type(text).__name__}")
    text = text.replace("\\$", "$")
    text = _BACKSLASHES.sub(" ", text)
    text = _LOST_ENTITY.sub("&", text)
    for _ in range(4):  # doubly escaped text ("&amp;amp;lt;") needs more than one pass
        unescaped = _ENTITY.sub(_unescape_entity, text)
        if unescaped == text:
            break
        text = unescaped
    text = _HTML_TAG.sub(" ", text)
    text = text.replace("\xa0", " ")
    return _SPACES.sub(" ", text).strip()


def _unescape_entity(match: re.Match) -> str:
    """One ``&...;`` entity decoded (``html.unescape`` alone would also decode ``&reg``
    without its ``;``, turning "Sales&regulation" into "Sales®ulation")."""
    entity = match.group(0)
    if entity[1] == "#":
        return html.unescape(entity)
    return html.entities.html5.get(entity[1:], entity)


def join_title_description(title: str, description: str) -> str:
    """``"title. description"`` from cleaned parts; no extra period after ``. ! ? : ;``.

    (A closing quote or bracket after that punctuation still counts: ``Is it "opt-out?"``.)
    """
    title, description = clean_news_text(title), clean_news_text(description)
    if not title or not description:
        return title or description
    separator = " " if _ENDS_SENTENCE.search(title) else ". "
    return title + separator + description


# ---------------------------------------------------------------------------- reading


def read_news_csv(
    path: str | os.PathLike, num_classes: int | None = None, *, first_label: int | None = None
) -> NewsSplit:
    """Read an AG News CSV (no header) or a ``label,text`` CSV into a ``NewsSplit`` (chapter 07).

    Every row is validated; an error names the file and the line (wrong number of
    fields, a label that is not an integer or out of range, an empty text). Class
    numbers run 1..K in the AG News format, and 0..K-1 or 1..K in a ``label,text`` file
    (``first_label`` says which; None: the smallest label, which must be 0 or 1). K is
    ``num_classes`` when given (4 for AG News itself), else the largest label in the
    file. Give both to read a test file in its training file's numbering, which matters
    when a small file lacks the first class. See the module docstring for the formats.
    """
    if num_classes is not None:
        num_classes = _args.integer("num_classes", num_classes, minimum=1,
                                    expected="a positive integer or None")
    if isinstance(first_label, bool) or first_label not in (None, 0, 1):
        raise ValueError(f"first_label must be None, 0 or 1, got {first_label!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such file; expected an AG News CSV (label 1-4, title, description)"
        )
    stat = path.stat()
    texts, labels, names, first = _read_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size,
                                               num_classes, first_label)
    return NewsSplit(list(texts), list(labels), list(names), source=f"file {path}", first_label=first)


@lru_cache(maxsize=8)
def _read_cached(
    path: str, mtime_ns: int, size: int, num_classes: int | None, first_label: int | None
) -> tuple[tuple, tuple, tuple, int | None]:
    try:
        content = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err})") from err
    rows = _csv_rows(path, content)
    if not rows:
        raise ValueError(f"{path}: the file is empty; expected rows of label,title,description")
    header = [cell.strip().lower() for cell in rows[0][1]]
    if "label" in header and "text" in header:
        if len(rows) == 1:
            raise ValueError(f"{path}: the file has a label,text header but no rows")
        return _parse_label_text(path, rows[1:], header, num_classes, first_label)
    return _parse_ag_news(path, rows, num_classes) + (1,)


def _csv_rows(path: str, content: str) -> list[tuple[int, list[str]]]:
    """``(first line number, fields)`` per non-blank record; quoted fields may span lines."""
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    rows, line = [], 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return rows
        except csv.Error as err:
            raise ValueError(f"{path}, line {line}: malformed CSV ({err})") from err
        if record and any(cell.strip() for cell in record):
            rows.append((line, record))
        line = reader.line_num + 1


AG_K = 4  # AG News's class count: files named as AG News must use labels 1..4
MAX_CLASSES = 1000  # a larger label is far more likely a broken file than a real class


def _class_names(k: int) -> tuple[str, ...]:
    """Names of AG-format classes 1..k: AG News's four, then "class 5", "class 6", ..."""
    return tuple(AG_NEWS_CLASSES[i] if i < len(AG_NEWS_CLASSES) else f"class {i + 1}" for i in range(k))


def _parse_ag_news(
    path: str, rows: list[tuple[int, list[str]]], num_classes: int | None
) -> tuple[tuple, tuple, tuple]:
    """AG News format: label 1..K (K = ``num_classes``, else the largest label in the file)."""
    top = MAX_CLASSES if num_classes is None else num_classes
    texts, labels = [], []
    for line, record in rows:
        if len(record) != 3:
            raise ValueError(
                f"{path}, line {line}: expected 3 fields (label, title, description), found "
                f"{len(record)}; a file with a header must name its columns label and text"
            )
        label = _integer_label(path, line, record[0])
        if not 1 <= label <= top:
            allowed = f"1..{num_classes}" if num_classes else "class numbers 1..K starting at 1"
            raise ValueError(
                f"{path}, line {line}: label {label} is out of range; labels are {allowed} "
                f"(AG News: {', '.join(f'{i + 1}={n}' for i, n in enumerate(AG_NEWS_CLASSES))})"
            )
        text = join_title_description(record[1], record[2])
        if not text:
            raise ValueError(f"{path}, line {line}: empty text (title and description are blank)")
        texts.append(text)
        labels.append(label - 1)
    return tuple(texts), tuple(labels), _class_names(num_classes or max(labels) + 1)


def _parse_label_text(
    path: str, rows: list[tuple[int, list[str]]], header: list[str], num_classes: int | None,
    first_label: int | None,
) -> tuple[tuple, tuple, tuple, int | None]:
    at_label, at_text = header.index("label"), header.index("text")
    raw, texts = [], []
    for line, record in rows:
        if len(record) != len(header):
            raise ValueError(
                f"{path}, line {line}: expected {len(header)} fields like the header "
                f"({','.join(header)}), found {len(record)}"
            )
        text = clean_news_text(record[at_text])
        if not record[at_label].strip():
            raise ValueError(f"{path}, line {line}: empty label")
        if not text:
            raise ValueError(f"{path}, line {line}: empty text")
        raw.append((line, record[at_label].strip()))
        texts.append(text)
    if all(re.fullmatch(r"[+-]?\d+", label) for _, label in raw):
        values = [int(label) for _, label in raw]
        low = first_label
        if low is None:
            low = min(values)
            if low not in (0, 1):
                line = raw[values.index(low)][0]
                raise ValueError(
                    f"{path}, line {line}: label {low} is out of range; integer labels are 1-based "
                    "(smallest label 1, like AG News) or 0-based (smallest label 0)"
                )
        k = num_classes if num_classes is not None else max(values) - low + 1
        for (line, _), v in zip(raw, values, strict=True):
            if not low <= v < low + k:
                raise ValueError(f"{path}, line {line}: label {v} is out of range; the labels "
                                 f"are {low}..{low + k - 1}")
        names = AG_NEWS_CLASSES[:k] if k <= len(AG_NEWS_CLASSES) else [
            str(i + low) for i in range(k)
        ]
        return tuple(texts), tuple(v - low for v in values), tuple(names), low
    numeric = [(line, label) for line, label in raw if re.fullmatch(r"[+-]?\d+", label)]
    if numeric:
        line, label = numeric[0]
        raise ValueError(
            f"{path}, line {line}: label {label!r} is a number but other labels are names; "
            "use either class names or integers throughout"
        )
    known = {name.lower(): i for i, name in enumerate(AG_NEWS_CLASSES)}
    if all(label.lower() in known for _, label in raw):
        return tuple(texts), tuple(known[label.lower()] for _, label in raw), tuple(AG_NEWS_CLASSES), None
    names = sorted({label for _, label in raw})
    index = {name: i for i, name in enumerate(names)}
    return tuple(texts), tuple(index[label] for _, label in raw), tuple(names), None


def _integer_label(path: str, line: int, cell: str) -> int:
    try:
        return int(cell.strip())
    except ValueError:
        raise ValueError(
            f"{path}, line {line}: label {cell!r} is not an integer; AG News rows start with "
            "a class number 1-4 and have no header (a header file names its columns label and text)"
        ) from None


# ---------------------------------------------------------------------------- splitting


def _hash_key(salt: str, text: str) -> bytes:
    return hashlib.sha256(f"{salt}\x00{text}".encode()).digest()


def carve_splits(data: NewsSplit, fractions: dict[str, float]) -> dict[str, NewsSplit]:
    """Split ``data`` class by class: ``fractions`` of each class go to the named splits.

    Rows are ranked within their class by a salted sha256 of their text (see the module
    docstring); every named split gets ``round(fraction * n_class)`` rows of a class, at
    least one while the class keeps a training row. The rest is ``"train"``. Copies of one
    text all go to the same split (the first, in the order ``"train"`` then ``fractions``,
    that any copy drew), so no text is in two splits.
    """
    by_class: dict[int, list[int]] = {}
    for i, y in enumerate(data.labels):
        by_class.setdefault(y, []).append(i)
    assignment = ["train"] * len(data)
    for members in by_class.values():
        ranked = sorted(members, key=lambda i: (_hash_key(SPLIT_SALT, data.texts[i]), i))
        start = 0
        for name, fraction in fractions.items():
            n = max(1, round(fraction * len(ranked)))
            n = min(n, len(ranked) - start - 1)  # keep at least one training row
            for i in ranked[start:start + max(n, 0)]:
                assignment[i] = name
            start += max(n, 0)
    # A text that occurs more than once (cleaning can make two rows equal; a few texts carry
    # two labels) goes wherever one copy went, train first: no text is in two splits.
    rank = {name: r for r, name in enumerate(("train", *fractions))}
    home: dict[str, str] = {}
    for text, name in zip(data.texts, assignment, strict=True):
        if text not in home or rank[name] < rank[home[text]]:
            home[text] = name
    assignment = [home[text] for text in data.texts]
    out = {}
    for name in ("train", *fractions):
        keep = [i for i, s in enumerate(assignment) if s == name]
        out[name] = _take(data, keep, data.source)
    return out


def _take(data: NewsSplit, indices: list[int], source: str) -> NewsSplit:
    return NewsSplit(
        [data.texts[i] for i in indices],
        [data.labels[i] for i in indices],
        list(data.label_names),
        source,
    )


def balanced_subset(data: NewsSplit, max_rows: int, seed: int = 0) -> NewsSplit:
    """At most ``max_rows`` rows, as equal per class as the data allows, chosen by ``seed``."""
    max_rows = _args.integer("max_rows", max_rows, minimum=1, expected="a positive integer or None")
    seed = _args.integer("seed", seed)
    if max_rows >= len(data):
        return _take(data, list(range(len(data))), data.source)
    salt = f"subset-{seed}"
    pools = {}
    for i, y in enumerate(data.labels):
        pools.setdefault(y, []).append(i)
    for y, members in pools.items():
        pools[y] = sorted(members, key=lambda i: (_hash_key(salt, data.texts[i]), i))
    quota = dict.fromkeys(pools, 0)
    left = max_rows
    while left > 0:  # deal one row per class in turn, skipping classes that ran out
        for y in sorted(pools):
            if left and quota[y] < len(pools[y]):
                quota[y] += 1
                left -= 1
    keep = sorted(i for y, members in pools.items() for i in members[: quota[y]])
    return _take(data, keep, data.source)


# ---------------------------------------------------------------------------- loading


def load_news(
    split: str = "train",
    *,
    max_rows: int | None = None,
    seed: int = 0,
    source: str | None = None,
    verbose: bool = True,
) -> NewsSplit:
    """One split of news-topic data from the best available source (chapters 07, 08).

    Args:
        split: ``"train"``, ``"validation"`` or ``"test"``.
        max_rows: keep a class-balanced subset of at most this many rows (chosen by ``seed``).
        seed: which subset ``max_rows`` takes; the splits themselves never depend on it.
        source: ``None`` picks automatically ($BIGMODEL_AG_NEWS_DIR, then the ``datasets``
            library when the network is allowed, then the bundled corpus); or force one of
            ``"ag_news_dir"``, ``"datasets"`` (only where the profile allows the network),
            ``"bundled"``.
        verbose: print which source was used (it is always in ``.source``).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    if source is not None and source not in SOURCES:
        raise ValueError(f"source must be None or one of {', '.join(SOURCES)}; got {source!r}")
    if max_rows is not None:
        balanced_subset(NewsSplit([], []), max_rows, seed)  # validates the arguments early

    data = _load(split, source)
    total = len(data)
    if max_rows is not None and max_rows < total:
        data = balanced_subset(data, max_rows, seed)
        data.source += f"; a class-balanced subset of {len(data):,} of {total:,} rows (seed {seed})"
    if verbose:
        print(f"load_news({split!r}): {len(data):,} rows from {data.source}")
    return data


def _load(split: str, source: str | None) -> NewsSplit:
    """The split from the named source, or from the first available one when ``None``."""
    from bigmodel_lib.env import network_allowed

    if source == "ag_news_dir" or (source is None and os.environ.get(AG_NEWS_ENV, "").strip()):
        return _from_ag_news_dir(split)
    if source == "datasets":
        return _from_datasets(split)
    if source is None and network_allowed():
        try:
            return _from_datasets(split)
        except Exception as err:  # offline Colab, no datasets package: fall back and say why
            data = _from_bundled(split)
            data.source += f" (the datasets library failed: {type(err).__name__}: {err})"
            return data
    return _from_bundled(split)


def _from_ag_news_dir(split: str) -> NewsSplit:
    value = os.environ.get(AG_NEWS_ENV, "").strip()
    if not value:
        raise ValueError(
            f"source='ag_news_dir' needs ${AG_NEWS_ENV} to name a folder holding AG News's "
            "train.csv (and optionally test.csv)"
        )
    folder = Path(value).expanduser()
    train_file, test_file = folder / "train.csv", folder / "test.csv"
    if not train_file.is_file():
        why = ("" if folder.is_dir() else
               " (it is a file, not a folder)" if folder.exists() else " (no such folder)")
        raise FileNotFoundError(
            f"${AG_NEWS_ENV}={value} has no train.csv{why}; point it at a folder holding AG "
            "News's train.csv (and optionally test.csv), or unset it to use the bundled corpus"
        )
    where = f"AG News in ${AG_NEWS_ENV}={folder}"
    if test_file.is_file():
        if split == "test":
            data = _same_classes(read_news_csv(test_file, AG_K), read_news_csv(train_file, AG_K), test_file)
            data.source = f"{where}: test.csv"
            return data
        part = carve_splits(read_news_csv(train_file, AG_K), {"validation": AG_VALIDATION_FRACTION})
        data = part[split]
        data.source = (f"{where}: train.csv, {split} part "
                       f"({AG_VALIDATION_FRACTION:.0%} of each class is validation)")
        return data
    fractions = {"validation": AG_VALIDATION_FRACTION, "test": AG_TEST_FRACTION}
    data = carve_splits(read_news_csv(train_file, AG_K), fractions)[split]
    data.source = (f"{where}: train.csv, {split} part (no test.csv there, so "
                   f"{AG_VALIDATION_FRACTION:.0%} validation + {AG_TEST_FRACTION:.0%} test of "
                   "each class are carved out of it)")
    return data


def _same_classes(test: NewsSplit, train: NewsSplit, test_file: Path) -> NewsSplit:
    """``test`` with its labels numbered as in ``train``, matched by class name.

    (Each file numbers its own classes: a ``label,text`` test file that lacks a class
    would otherwise shift the ids of the classes after it.)
    """
    if test.label_names == train.label_names:
        return test
    index = {name: i for i, name in enumerate(train.label_names)}
    unseen = sorted({test.label_names[y] for y in test.labels} - set(index))
    if unseen:
        raise ValueError(f"{test_file}: labels {unseen} do not occur in train.csv beside it "
                         f"(its classes: {train.label_names})")
    labels = [index[test.label_names[y]] for y in test.labels]
    return NewsSplit(list(test.texts), labels, list(train.label_names), test.source)


def _from_datasets(split: str) -> NewsSplit:
    from bigmodel_lib.env import network_allowed

    if not network_allowed():
        raise ValueError(
            "source='datasets' downloads AG News, and the default profile never touches the "
            "network; set BIGMODEL_PROFILE=gpu to allow it, or point $BIGMODEL_AG_NEWS_DIR at "
            "a folder of AG News CSVs"
        )
    try:
        import datasets
    except ImportError as err:
        raise ImportError(
            "source='datasets' needs the datasets library: pip install datasets "
            "(or pip install 'bigmodel-lib[online]')"
        ) from err
    hf_split = "test" if split == "test" else "train"
    table = datasets.load_dataset(HF_AG_NEWS, split=hf_split)
    names = list(table.features["label"].names)
    data = NewsSplit(
        [clean_news_text(t) for t in table["text"]], [int(y) for y in table["label"]], names
    )
    where = f"the datasets library ({HF_AG_NEWS}, downloaded)"
    if split == "test":
        data.source = f"{where}: official test split"
        return data
    data = carve_splits(data, {"validation": AG_VALIDATION_FRACTION})[split]
    data.source = (f"{where}: train split, {split} part "
                   f"({AG_VALIDATION_FRACTION:.0%} of each class is validation)")
    return data


def _from_bundled(split: str) -> NewsSplit:
    from bigmodel_lib.env import data_dir

    folder = data_dir() / "news"
    if split == "test":
        data = read_news_csv(folder / "test.csv", AG_K)
        data.source = "the bundled course corpus: data/news/test.csv"
        return data
    part = carve_splits(read_news_csv(folder / "train.csv", AG_K),
                        {"validation": BUNDLED_VALIDATION_FRACTION})
    data = part[split]
    data.source = (f"the bundled course corpus: data/news/train.csv, {split} part "
                   f"({BUNDLED_VALIDATION_FRACTION:.0%} of each class is validation)")
    return data

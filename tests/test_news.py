import csv
import linecache
import os
import random
import re
import socket
import subprocess
import sys
import types
from pathlib import Path

import pytest

import bigmodel_lib.data as data_api
from bigmodel_lib import news
from bigmodel_lib.news import (
    AG_NEWS_CLASSES,
    NewsSplit,
    carve_splits,
    clean_news_text,
    load_news,
    read_news_csv,
)

SHARED_TRAIN = Path(__file__).resolve().parents[1] / "../shared/data/ag_news/train.csv"
if not SHARED_TRAIN.is_file():
    SHARED_TRAIN = Path("/work/shared/data/ag_news/train.csv")


def write_ag(path, rows):
    """rows: (label, title, description) tuples, written like the original AG News CSV."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return path


def fake_rows(per_class=40, seed=0):
    rng = random.Random(seed)
    rows = [
        (str(c + 1), f"{name} headline {i}", f"Story {i} on {name.lower()}, {rng.random()}")
        for c, name in enumerate(AG_NEWS_CLASSES)
        for i in range(per_class)
    ]
    rng.shuffle(rows)
    return rows


@pytest.fixture
def no_sources(monkeypatch):
    """No AG News folder, no network: the loader can only use what a test sets up."""
    monkeypatch.delenv("BIGMODEL_AG_NEWS_DIR", raising=False)
    monkeypatch.setenv("BIGMODEL_PROFILE", "default")


# ------------------------------------------------------------------- reading and validating


def test_read_ag_news_format(tmp_path):
    path = write_ag(tmp_path / "train.csv", [
        ("3", "Wall St. Bears Claw Back", "Short-sellers are seeing green again."),
        ("1", "Talks resume", 'Envoys said the "plan" stands.'),
        ("4", "New chip ships?", "Faster and cooler."),
    ])
    data = read_news_csv(path)
    assert data.labels == [2, 0, 3]
    assert data.label_names == AG_NEWS_CLASSES
    assert data.texts == [
        "Wall St. Bears Claw Back. Short-sellers are seeing green again.",
        'Talks resume. Envoys said the "plan" stands.',
        "New chip ships? Faster and cooler.",
    ]
    assert len(data) == 3
    assert str(path) in data.source


def test_read_ag_news_keeps_a_title_or_description_alone(tmp_path):
    rows = [("2", "Only a title", ""), ("2", "", "Only a description")]
    path = write_ag(tmp_path / "t.csv", rows)
    assert read_news_csv(path).texts == ["Only a title", "Only a description"]


def test_label_text_header_with_ag_news_names_follows_ag_news_order(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("label,text\nsci/tech,chips\nWorld,talks\nSports,goal\n", encoding="utf-8")
    data = read_news_csv(path)
    assert data.label_names == AG_NEWS_CLASSES
    assert data.labels == [3, 0, 1]


def test_label_text_header_with_other_names_uses_sorted_names(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("label,text\nspam,buy now\nham,see you\nspam,win\n", encoding="utf-8")
    data = read_news_csv(path)
    assert data.label_names == ["ham", "spam"]
    assert data.labels == [1, 0, 1]


def test_label_text_header_in_any_order_with_other_columns_ignored(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,Text,LABEL\n7,buy now,spam\n8,see you,ham\n", encoding="utf-8")
    data = read_news_csv(path)
    assert data.texts == ["buy now", "see you"]
    assert data.label_names == ["ham", "spam"] and data.labels == [1, 0]


@pytest.mark.parametrize(("labels", "expected"), [(["1", "4", "2"], [0, 3, 1]),
                                                  (["0", "3", "1"], [0, 3, 1])])
def test_label_text_integer_labels_are_one_or_zero_based(tmp_path, labels, expected):
    path = tmp_path / "t.csv"
    path.write_text("label,text\n" + "".join(f"{y},text {y}\n" for y in labels), encoding="utf-8")
    data = read_news_csv(path)
    assert data.labels == expected
    assert data.label_names == AG_NEWS_CLASSES


def test_first_label_and_num_classes_fix_the_numbering_of_a_partial_file(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("label,text\n2,b\n3,c\n", encoding="utf-8")
    with pytest.raises(ValueError, match="smallest label"):
        read_news_csv(path)  # 2 and 3 alone: 0-based or 1-based cannot be told
    zero = read_news_csv(path, num_classes=4, first_label=0)
    assert zero.labels == [2, 3] and zero.label_names == AG_NEWS_CLASSES and zero.first_label == 0
    one = read_news_csv(path, num_classes=5, first_label=1)
    assert one.labels == [1, 2] and one.label_names == ["1", "2", "3", "4", "5"]
    with pytest.raises(ValueError, match=r"line 3: label 3 is out of range; the labels are 1..2"):
        read_news_csv(path, num_classes=2, first_label=1)
    with pytest.raises(ValueError, match="first_label must be None, 0 or 1"):
        read_news_csv(path, first_label=2)


def test_first_label_is_recorded(tmp_path):
    ag = tmp_path / "ag.csv"
    ag.write_text('"2","t","d"\n', encoding="utf-8")
    named = tmp_path / "named.csv"
    named.write_text("label,text\nspam,x\n", encoding="utf-8")
    assert read_news_csv(ag).first_label == 1 and read_news_csv(named).first_label is None


def test_label_text_many_integer_classes_are_named_by_number(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("label,text\n" + "".join(f"{y},t\n" for y in range(1, 7)), encoding="utf-8")
    data = read_news_csv(path)
    assert data.labels == list(range(6))
    assert data.label_names == ["1", "2", "3", "4", "5", "6"]


def test_line_numbers_count_lines_inside_quoted_fields(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('"1","a title","a description\nthat spans\nthree lines"\n"2","x"\n',
                    encoding="utf-8")
    with pytest.raises(ValueError, match=r"t\.csv, line 4: expected 3 fields .* found 2"):
        read_news_csv(path)


@pytest.mark.parametrize(("content", "message"), [
    ('"1","t","d"\n"2","t","d","extra"\n',
     r"line 2: expected 3 fields \(label, title, description\), found 4"),
    ('"1","t","d"\n\n"x","t","d"\n', r"line 3: label 'x' is not an integer"),
    ('"3","t","d"\n"5","t","d"\n', r"line 2: label 5 is out of range; labels are 1\.\.4"),
    ('"0","t","d"\n', r"line 1: label 0 is out of range"),
    ('"1","t","d"\n"2","  ","\\\\"\n', r"line 2: empty text"),
    ('Class Index,Title,Description\n"1","t","d"\n',
     r"line 1: label 'Class Index' is not an integer"),
    ('label,text\n1,fine\n2,x,y\n', r"line 3: expected 2 fields like the header \(label,text\)"),
    ('label,text\n1,fine\n2,  \n', r"line 3: empty text"),
    ('label,text\n2,a\n3,b\n', r"line 2: label 2 is out of range; integer labels are 1-based"),
    ('label,text\nWorld,a\n2,b\n', r"line 3: label '2' is a number but other labels are names"),
    ('label,text\n', r"label,text header but no rows"),
    ('', r"the file is empty"),
    ('\n\n', r"the file is empty"),
    ('"1","t","unterminated\n', r"line 1: malformed CSV"),
])
def test_validation_errors_name_the_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        read_news_csv(path, num_classes=4)
    assert "bad.csv" in str(info.value)


@pytest.mark.parametrize("k", [2, 4, 5])
def test_ag_format_has_as_many_classes_as_its_largest_label(tmp_path, k):
    path = tmp_path / "k.csv"
    path.write_text("".join(f'"{label}","title {label}","text {label}"\n' for label in range(1, k + 1)))
    data = read_news_csv(path)
    assert data.labels == list(range(k)) and len(data.label_names) == k
    assert data.label_names[:2] == ["World", "Sports"]
    if k == 5:
        assert data.label_names[4] == "class 5"
    with pytest.raises(ValueError, match="num_classes"):
        read_news_csv(path, num_classes=0)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.csv: no such file"):
        read_news_csv(tmp_path / "nowhere.csv")


def test_reading_again_sees_a_changed_file(tmp_path):
    path = write_ag(tmp_path / "t.csv", [("1", "a", "b")])
    assert read_news_csv(path).labels == [0]
    write_ag(path, [("2", "a", "b"), ("3", "c", "d")])
    assert read_news_csv(path).labels == [1, 2]


def test_news_split_checks_its_fields():
    with pytest.raises(ValueError, match="one label per text"):
        NewsSplit(["a", "b"], [0])
    with pytest.raises(ValueError, match=r"integers in 0\.\.3"):
        NewsSplit(["a"], [4])
    split = NewsSplit(["a", "b", "c"], [0, 2, 2])
    assert split.class_counts() == {"World": 1, "Sports": 0, "Business": 2, "Sci/Tech": 0}


# ------------------------------------------------------------------- cleaning


@pytest.mark.parametrize(("raw", "clean"), [
    ("Wall Street #39;s dwindling\\band", "Wall Street's dwindling band"),
    ("surged past  #36;46\\a barrel", "surged past $46 a barrel"),
    ("Cash Hits \\$2.6 Bln", "Cash Hits $2.6 Bln"),
    ("as  quot;opt-out? quot;", 'as "opt-out?"'),
    ("Texas A amp;M University", "Texas A&M University"),
    ("struck again  #151; this time", "struck again \u2014 this time"),
    ("Western  amp;amp;amp; Southern", "Western & Southern"),
    ("&lt;strong&gt;Opinion&lt;/strong&gt; SAP hardly to blame", "Opinion SAP hardly to blame"),
    ('Corp. &lt;A HREF="http://www.investor.reuters.com/x?t=KMRT.O"&gt;KMRT.O&lt;/A&gt; on Monday',
     "Corp. KMRT.O on Monday"),
    ("India News  gt; New Delhi", "India News > New Delhi"),
    ("\\\\Only \\$15 to get in.\\\\", "Only $15 to get in."),
    ("  many    spaces\there ", "many spaces here"),
    ("2.3 per cent; but becomes real; fine", "2.3 per cent; but becomes real; fine"),
    ("a nbsp;b and ma icirc;tre d'", "a b and ma\u00eetre d'"),
    ("", ""),
])
def test_clean_news_text(raw, clean):
    assert clean_news_text(raw) == clean


def test_clean_news_text_is_idempotent_and_rejects_non_strings():
    text = "Q amp;A: HP #39;s Livermore &lt;b&gt;...&lt;/b&gt;"
    once = clean_news_text(text)
    assert once == "Q&A: HP's Livermore ..."
    assert clean_news_text(once) == once
    with pytest.raises(TypeError, match="expects a string"):
        clean_news_text(None)


def shared_row(line_number):
    if not SHARED_TRAIN.is_file():
        pytest.skip(f"the real AG News rows are not here ({SHARED_TRAIN}); they sit beside the "
                    "repository on the course's build machine only")
    line = linecache.getline(str(SHARED_TRAIN), line_number)
    (label, title, description), = csv.reader([line])
    return int(label), news.join_title_description(title, description)


@pytest.mark.parametrize(("line", "label", "must_contain", "must_not_contain"), [
    (1, 3, ["Wall St. Bears Claw Back Into the Black (Reuters). Reuters",
            "Wall Street's dwindling band of ultra-cynics"], ["\\"]),
    (6, 3, ["surged past $46 a barrel"], ["#36;"]),
    (84, 4, ["struck again \u2014 this time"], ["#151;"]),
    (162, 4, ['legalized as "opt-out?" The Register'], ["quot;"]),
    (168, 4, ["their application server can support. While nice"], ["\\"]),
    (187, 4, ["adapt. Opinion SAP hardly to blame"], ["&lt;", "<strong>", "strong"]),
    (962, 3, ["Cash Hits $2.6 Bln. CHICAGO (Reuters) - Kmart Holdings Corp. KMRT.O on Monday"],
     ["HREF", "&gt;", "\\"]),
    (1660, 4, ["Q&A: HP's Livermore", "This can't be an easy time"], ["amp;", "#39;"]),
    (4750, 2, ["Western & Southern Financial Group Women's Open"], ["amp;"]),
])
def test_cleaning_real_ag_news_rows(line, label, must_contain, must_not_contain):
    got_label, text = shared_row(line)
    assert got_label == label
    for part in must_contain:
        assert part in text
    for part in must_not_contain:
        assert part not in text
    assert "  " not in text and text == text.strip()


# ------------------------------------------------------------------- splits and sources


def test_carved_splits_are_stratified_disjoint_and_complete(tmp_path, no_sources, monkeypatch):
    write_ag(tmp_path / "train.csv", fake_rows(per_class=40))
    monkeypatch.setenv("BIGMODEL_AG_NEWS_DIR", str(tmp_path))
    parts = {s: load_news(s, verbose=False) for s in ("train", "validation", "test")}
    assert {s: len(p) for s, p in parts.items()} == {"train": 136, "validation": 8, "test": 16}
    assert parts["validation"].class_counts() == dict.fromkeys(AG_NEWS_CLASSES, 2)
    assert parts["test"].class_counts() == dict.fromkeys(AG_NEWS_CLASSES, 4)
    everything = read_news_csv(tmp_path / "train.csv")
    seen = [t for p in parts.values() for t in p.texts]
    assert sorted(seen) == sorted(everything.texts)
    for p in parts.values():
        assert "no test.csv there" in p.source and str(tmp_path) in p.source
        pairs = dict(zip(everything.texts, everything.labels, strict=True))
        assert all(pairs[t] == y for t, y in zip(p.texts, p.labels, strict=True))


def test_carved_split_does_not_depend_on_row_order_or_seed(tmp_path, no_sources, monkeypatch):
    rows = fake_rows(per_class=30)
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    write_ag(a / "train.csv", rows)
    write_ag(b / "train.csv", list(reversed(rows)))
    monkeypatch.setenv("BIGMODEL_AG_NEWS_DIR", str(a))
    test_a = load_news("test", verbose=False, seed=1)
    monkeypatch.setenv("BIGMODEL_AG_NEWS_DIR", str(b))
    test_b = load_news("test", verbose=False, seed=7)
    assert sorted(test_a.texts) == sorted(test_b.texts)
    assert test_b.texts == list(reversed(test_a.texts))  # each split keeps its file's order


def test_folder_with_test_csv_uses_it(tmp_path, no_sources, monkeypatch):
    write_ag(tmp_path / "train.csv", fake_rows(per_class=20))
    write_ag(tmp_path / "test.csv", [("2", "Final", "A late goal."), ("1", "Vote", "Polls close.")])
    monkeypatch.setenv("BIGMODEL_AG_NEWS_DIR", str(tmp_path))
    test = load_news("test", verbose=False)
    assert test.texts == ["Final. A late goal.", "Vote. Polls close."]
    assert test.labels == [1, 0]
    assert "test.csv" in test.source
    train, val = load_news("train", verbose=False), load_news("validation", verbose=False)
    assert len(train) + len(val) == 80 and len(val) == 4


def test_ag_news_dir_errors(tmp_path, no_sources, monkeypatch):
    with pytest.raises(ValueError, match="BIGMODEL_AG_NEWS_DIR"):
        load_news(source="ag_news_dir")
    monkeypatch.setenv("BIGMODEL_AG_NEWS_DIR", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="has no train.csv"):
        load_news()


def test_verbose_reports_the_source(tmp_path, no_sources, monkeypatch, capsys):
    write_ag(tmp_path / "train.csv", fake_rows(per_class=20))
    monkeypatch.setenv("BIGMODEL_AG_NEWS_DIR", str(tmp_path))
    data = load_news("validation")
    out = capsys.readouterr().out
    assert out.startswith("load_news('validation'): 4 rows from AG News in $BIGMODEL_AG_NEWS_DIR")
    assert data.source in out
    load_news("validation", verbose=False)
    assert capsys.readouterr().out == ""


def test_max_rows_is_class_balanced_seeded_and_a_subset(tmp_path, no_sources, monkeypatch):
    write_ag(tmp_path / "train.csv", fake_rows(per_class=50))
    monkeypatch.setenv("BIGMODEL_AG_NEWS_DIR", str(tmp_path))
    full = load_news("train", verbose=False)
    sub = load_news("train", max_rows=42, seed=3, verbose=False)
    assert len(sub) == 42
    assert sorted(sub.class_counts().values()) == [10, 10, 11, 11]
    assert set(sub.texts) <= set(full.texts)
    assert sub.texts == [t for t in full.texts if t in set(sub.texts)]  # file order kept
    assert load_news("train", max_rows=42, seed=3, verbose=False).texts == sub.texts
    assert load_news("train", max_rows=42, seed=4, verbose=False).texts != sub.texts
    assert "subset of 42" in sub.source and "seed 3" in sub.source
    assert load_news("train", max_rows=10_000, verbose=False).texts == full.texts


def test_max_rows_fills_from_other_classes_when_one_runs_out():
    data = NewsSplit([f"w{i}" for i in range(2)] + [f"s{i}" for i in range(20)], [0] * 2 + [1] * 20)
    sub = news.balanced_subset(data, 10, seed=0)
    assert sub.class_counts() == {"World": 2, "Sports": 8, "Business": 0, "Sci/Tech": 0}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"split": "valid"}, "split must be one of train, validation, test"),
    ({"source": "web"}, "source must be None or one of"),
    ({"max_rows": 0}, "max_rows must be a positive integer"),
    ({"max_rows": 2.5}, "max_rows must be a positive integer"),
])
def test_bad_arguments(kwargs, message, no_sources):
    with pytest.raises(ValueError, match=message):
        load_news(**kwargs)


def make_bundled(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "news"
    folder.mkdir(parents=True)
    write_ag(folder / "train.csv", fake_rows(per_class=30))
    write_ag(folder / "test.csv", fake_rows(per_class=5, seed=1))
    monkeypatch.setenv("BIGMODEL_DATA_DIR", str(tmp_path / "data"))


def test_bundled_corpus_is_the_offline_default(tmp_path, no_sources, monkeypatch):
    make_bundled(tmp_path, monkeypatch)
    train, val, test = (load_news(s, verbose=False) for s in ("train", "validation", "test"))
    assert (len(train), len(val), len(test)) == (108, 12, 20)
    assert "bundled" in train.source and "data/news/train.csv" in train.source
    assert "data/news/test.csv" in test.source
    assert not set(train.texts) & set(val.texts)


def test_forced_bundled_ignores_the_ag_news_dir(tmp_path, no_sources, monkeypatch):
    make_bundled(tmp_path, monkeypatch)
    monkeypatch.setenv("BIGMODEL_AG_NEWS_DIR", str(tmp_path / "missing"))
    assert "bundled" in load_news("test", source="bundled", verbose=False).source


class FakeTable:
    """The slice of datasets.Dataset that load_news uses."""

    def __init__(self, texts, labels):
        self.columns = {"text": texts, "label": labels}
        self.features = {"label": types.SimpleNamespace(names=list(AG_NEWS_CLASSES))}

    def __getitem__(self, column):
        return self.columns[column]


def fake_datasets_module(calls):
    module = types.ModuleType("datasets")

    def load_dataset(name, split):
        calls.append((name, split))
        n = 40 if split == "train" else 8
        texts = [f"Item {i} (AP) AP - Wall Street #39;s view\\of story {i}" for i in range(n)]
        return FakeTable(texts, [i % 4 for i in range(n)])

    module.load_dataset = load_dataset
    return module


def test_datasets_source_when_the_network_is_allowed(tmp_path, no_sources, monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "datasets", fake_datasets_module(calls))
    monkeypatch.setenv("BIGMODEL_PROFILE", "gpu")
    test = load_news("test", verbose=False)
    val = load_news("validation", verbose=False)
    train = load_news("train", verbose=False)
    assert calls == [(news.HF_AG_NEWS, "test"), (news.HF_AG_NEWS, "train"),
                     (news.HF_AG_NEWS, "train")]
    assert len(test) == 8 and "official test split" in test.source
    assert (len(train), len(val)) == (36, 4)
    assert val.class_counts() == dict.fromkeys(AG_NEWS_CLASSES, 1)
    assert test.texts[0] == "Item 0 (AP) AP - Wall Street's view of story 0"
    assert "datasets library" in train.source


def test_datasets_never_used_offline(tmp_path, no_sources, monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "datasets", fake_datasets_module(calls))
    make_bundled(tmp_path, monkeypatch)
    assert "bundled" in load_news("test", verbose=False).source
    assert calls == []


def test_datasets_failure_falls_back_to_bundled_and_says_why(tmp_path, no_sources, monkeypatch):
    make_bundled(tmp_path, monkeypatch)
    monkeypatch.setenv("BIGMODEL_PROFILE", "gpu")
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets raises ImportError
    data = load_news("test", verbose=False)
    assert "bundled" in data.source and "datasets library failed: ImportError" in data.source
    with pytest.raises(ImportError, match="pip install datasets"):
        load_news("test", source="datasets", verbose=False)


def test_carve_splits_keeps_a_training_row_in_tiny_classes():
    data = NewsSplit(["a", "b", "c"], [0, 0, 1])
    parts = carve_splits(data, {"validation": 0.05, "test": 0.1})
    assert parts["train"].class_counts()["World"] >= 1
    assert parts["train"].class_counts()["Sports"] == 1
    assert len(parts["train"]) + len(parts["validation"]) + len(parts["test"]) == 3


# ================================ independent review (was tests/test_review_news.py)
# Review of issue 10's data layer as an independent tester: load_news, read_news_csv,
# clean_news_text, tried on broken files, odd folders, both CSV formats and real AG News rows.


REPO = Path(__file__).resolve().parents[1]
SHARED_TRAIN_INDEPENDENT = REPO / "../shared/data/ag_news/train.csv"
if not SHARED_TRAIN_INDEPENDENT.is_file():
    SHARED_TRAIN_INDEPENDENT = Path("/work/shared/data/ag_news/train.csv")
SPLITS = ("train", "validation", "test")


def write_ag_independent(path, rows, *, newline="\n", quoting=csv.QUOTE_ALL):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, quoting=quoting, lineterminator=newline).writerows(rows)
    return path


def rows_per_class(per_class, tag="row"):
    return [(str(c + 1), f"{name} {tag} title {i}", f"What happened in {name} story {i}.")
            for c, name in enumerate(AG_NEWS_CLASSES) for i in range(per_class)]


@pytest.fixture
def offline(monkeypatch):
    """Default profile, no AG News folder, no network and a `datasets` that must not be used."""
    monkeypatch.delenv("BIGMODEL_AG_NEWS_DIR", raising=False)
    monkeypatch.setenv("BIGMODEL_PROFILE", "default")
    calls = []

    def no_network(*args, **kwargs):
        calls.append(("socket", args))
        raise AssertionError("the default profile touched the network")

    fake = types.ModuleType("datasets")

    def load_dataset(*args, **kwargs):
        calls.append(("datasets", args))
        raise AssertionError("the datasets library was used in the default profile")

    fake.load_dataset = load_dataset
    monkeypatch.setitem(sys.modules, "datasets", fake)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    return calls


def use_folder(monkeypatch, folder):
    monkeypatch.setenv("BIGMODEL_AG_NEWS_DIR", str(folder))


def all_splits(**kwargs):
    return {s: load_news(s, verbose=False, **kwargs) for s in SPLITS}


# ------------------------------------------------------------------ the public entry point


def test_public_api_is_reexported_from_data():
    from bigmodel_lib import news

    assert data_api.load_news is news.load_news
    assert data_api.read_news_csv is news.read_news_csv
    assert data_api.clean_news_text is news.clean_news_text
    assert AG_NEWS_CLASSES == ["World", "Sports", "Business", "Sci/Tech"]


# ------------------------------------------------------------------ folders


def test_folder_with_train_only_carves_disjoint_stratified_splits(tmp_path, offline,
                                                                  monkeypatch):
    write_ag_independent(tmp_path / "train.csv", rows_per_class(60))
    use_folder(monkeypatch, tmp_path)
    parts = all_splits()
    sizes = {s: len(p) for s, p in parts.items()}
    assert sum(sizes.values()) == 240
    assert sizes["validation"] == 4 * round(0.05 * 60) and sizes["test"] == 4 * round(0.10 * 60)
    for part in parts.values():
        counts = set(part.class_counts().values())
        assert len(counts) == 1, part.class_counts()  # the same share of every class
        assert part.label_names == AG_NEWS_CLASSES
        assert "BIGMODEL_AG_NEWS_DIR" in part.source and "train.csv" in part.source
    texts = [set(p.texts) for p in parts.values()]
    assert not texts[0] & texts[1] and not texts[0] & texts[2] and not texts[1] & texts[2]
    assert offline == []


def test_folder_with_train_and_test_uses_test_csv_as_the_test_split(tmp_path, offline,
                                                                    monkeypatch):
    write_ag_independent(tmp_path / "train.csv", rows_per_class(40))
    write_ag_independent(tmp_path / "test.csv", rows_per_class(3, tag="held-out"))
    use_folder(monkeypatch, tmp_path)
    parts = all_splits()
    assert len(parts["test"]) == 12 and all("held-out" in t for t in parts["test"].texts)
    assert "test.csv" in parts["test"].source
    assert len(parts["train"]) + len(parts["validation"]) == 160
    assert not any("held-out" in t for t in parts["train"].texts + parts["validation"].texts)
    assert not set(parts["train"].texts) & set(parts["validation"].texts)


def test_label_text_test_csv_lacking_a_class_keeps_the_training_numbering(
        tmp_path, offline, monkeypatch):
    lines = ["label,text"] + [f"{c},{c} story number {i}" for c in ("alpha", "beta", "gamma")
                              for i in range(20)]
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "test.csv").write_text("label,text\ngamma,a gamma story\nalpha,an alpha one\n",
                                       encoding="utf-8")
    use_folder(monkeypatch, tmp_path)
    test = load_news("test", verbose=False)
    assert test.label_names == ["alpha", "beta", "gamma"]
    assert [test.label_names[y] for y in test.labels] == ["gamma", "alpha"]
    (tmp_path / "test.csv").write_text("label,text\ndelta,never seen in training\n",
                                       encoding="utf-8")
    with pytest.raises(ValueError, match=r"test\.csv.*'delta'"):
        load_news("test", verbose=False)


@pytest.mark.parametrize("setup", ["missing", "a_file", "no_train", "empty", "garbled"])
def test_broken_folders_give_errors_that_name_the_place(tmp_path, offline, monkeypatch, setup):
    folder = tmp_path / "agnews"
    if setup == "a_file":
        folder.write_text("not a folder")
    elif setup != "missing":
        folder.mkdir()
        if setup == "no_train":
            write_ag_independent(folder / "test.csv", rows_per_class(2))
        elif setup == "empty":
            (folder / "train.csv").write_text("")
        elif setup == "garbled":
            (folder / "train.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary junk")
    use_folder(monkeypatch, folder)
    with pytest.raises((ValueError, FileNotFoundError)) as info:
        load_news("train", verbose=False)
    message = str(info.value)
    assert "agnews" in message and "train.csv" in message, message
    assert offline == []


def test_carved_splits_are_the_same_in_a_fresh_interpreter(tmp_path, offline, monkeypatch):
    write_ag_independent(tmp_path / "train.csv", rows_per_class(30))
    use_folder(monkeypatch, tmp_path)
    here = load_news("test", verbose=False).texts
    code = ("from bigmodel_lib.data import load_news; "
            "print('\\n'.join(load_news('test', verbose=False).texts))")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.splitlines() == here


def test_splits_do_not_depend_on_row_order_or_max_rows_seed(tmp_path, offline, monkeypatch):
    rows = rows_per_class(25)
    write_ag_independent(tmp_path / "train.csv", rows)
    use_folder(monkeypatch, tmp_path)
    before = {s: sorted(p.texts) for s, p in all_splits().items()}
    random.Random(3).shuffle(rows)
    write_ag_independent(tmp_path / "train.csv", rows)
    assert {s: sorted(p.texts) for s, p in all_splits().items()} == before
    assert sorted(load_news("test", seed=7, verbose=False).texts) == before["test"]


def test_duplicate_texts_never_straddle_two_splits(tmp_path, offline, monkeypatch):
    """Real AG News has texts that are equal after cleaning, some under two labels."""
    rows = rows_per_class(30)
    rows += [(label, title, desc) for label, title, desc in rows]  # every row twice
    rows += [("4", "World row title 3", "What happened in World story 3.")]  # a second label
    rows += [("3", "Same  text", "twice"), ("3", "Same text", "twice")]  # equal once cleaned
    write_ag_independent(tmp_path / "train.csv", rows)
    use_folder(monkeypatch, tmp_path)
    parts = all_splits()
    assert sum(len(p) for p in parts.values()) == len(rows)
    texts = [set(p.texts) for p in parts.values()]
    assert not texts[0] & texts[1] and not texts[0] & texts[2] and not texts[1] & texts[2]
    assert len(parts["validation"]) > 0 and len(parts["test"]) > 0


def test_real_ag_news_splits_are_disjoint(offline, monkeypatch):
    if not SHARED_TRAIN_INDEPENDENT.is_file():
        pytest.skip(f"the real AG News rows are not here ({SHARED_TRAIN_INDEPENDENT})")
    use_folder(monkeypatch, SHARED_TRAIN_INDEPENDENT.parent)
    parts = all_splits()
    assert sum(len(p) for p in parts.values()) == 41_342
    texts = [set(p.texts) for p in parts.values()]
    assert not texts[0] & texts[1] and not texts[0] & texts[2] and not texts[1] & texts[2]
    for part in parts.values():
        counts = part.class_counts()
        assert max(counts.values()) / min(counts.values()) < 1.05


# ------------------------------------------------------------------ max_rows


@pytest.mark.parametrize("max_rows", [1, 3, 4, 10, 37])
def test_max_rows_is_balanced_seeded_and_a_subset(tmp_path, offline, monkeypatch, max_rows):
    write_ag_independent(tmp_path / "train.csv", rows_per_class(20))
    use_folder(monkeypatch, tmp_path)
    full = load_news("train", verbose=False)
    small = load_news("train", max_rows=max_rows, seed=1, verbose=False)
    assert len(small) == max_rows
    counts = small.class_counts().values()
    assert max(counts) - min(counts) <= 1
    assert set(zip(small.texts, small.labels, strict=True)) <= set(
        zip(full.texts, full.labels, strict=True))
    assert load_news("train", max_rows=max_rows, seed=1, verbose=False).texts == small.texts
    assert "subset" in small.source and "BIGMODEL_AG_NEWS_DIR" in small.source


def test_max_rows_other_seed_other_rows_and_too_many_is_everything(tmp_path, offline,
                                                                   monkeypatch):
    write_ag_independent(tmp_path / "train.csv", rows_per_class(20))
    use_folder(monkeypatch, tmp_path)
    a = load_news("train", max_rows=8, seed=0, verbose=False)
    b = load_news("train", max_rows=8, seed=1, verbose=False)
    assert a.texts != b.texts
    assert len(load_news("train", max_rows=10**6, verbose=False)) == len(
        load_news("train", verbose=False))
    for bad in (0, -1, 2.5, "10", True):
        with pytest.raises(ValueError, match="max_rows"):
            load_news("train", max_rows=bad, verbose=False)


# ------------------------------------------------------------------ sources and the network


def test_source_is_reported_and_printed(tmp_path, offline, monkeypatch, capsys):
    train = load_news("train")
    printed = capsys.readouterr().out
    assert "bundled" in train.source and train.source in printed
    write_ag_independent(tmp_path / "train.csv", rows_per_class(10))
    use_folder(monkeypatch, tmp_path)
    test = load_news("test")
    assert "BIGMODEL_AG_NEWS_DIR" in test.source and test.source in capsys.readouterr().out
    quiet = load_news("test", verbose=False)
    assert capsys.readouterr().out == "" and quiet.source == test.source


def test_default_profile_never_uses_datasets_or_the_network(offline, monkeypatch):
    monkeypatch.delenv("BIGMODEL_PROFILE")
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)  # a laptop CPU
    for split in SPLITS:
        assert "bundled" in load_news(split, verbose=False).source
    with pytest.raises(ValueError, match="network"):
        load_news("train", source="datasets", verbose=False)
    assert offline == []


def test_forced_sources(tmp_path, offline, monkeypatch):
    with pytest.raises(ValueError, match="BIGMODEL_AG_NEWS_DIR"):
        load_news("train", source="ag_news_dir", verbose=False)
    write_ag_independent(tmp_path / "train.csv", rows_per_class(10))
    use_folder(monkeypatch, tmp_path)
    assert "bundled" in load_news("train", source="bundled", verbose=False).source
    for bad in ("AG", "hub", ""):
        with pytest.raises(ValueError, match="source"):
            load_news("train", source=bad, verbose=False)
    for bad in ("valid", "Train", "dev"):
        with pytest.raises(ValueError, match="split"):
            load_news(bad, verbose=False)


# ------------------------------------------------------------------ reading files


@pytest.mark.parametrize(("content", "line", "words"), [
    ('"1","t","d"\n"2","t"\n', 2, ["3 fields", "found 2"]),
    ('"1","t","d"\n"2","t","d","x"\n', 2, ["3 fields", "found 4"]),
    ('"1","t","d"\n"0","t","d"\n', 2, ["label 0", "1..4"]),
    ('"1","t","d"\n"5","t","d"\n', 2, ["label 5", "1..4"]),
    ('"1","t","d"\n"x","t","d"\n', 2, ["'x'"]),
    ('"1","t","d"\n"2.0","t","d"\n', 2, ["'2.0'"]),
    ('"1","t","d"\n"","t","d"\n', 2, ["label"]),
    ('"1","t","d"\n"2","",""\n', 2, ["empty"]),
    ('"1","t","d"\n"2","  ","\\\\ "\n', 2, ["empty"]),
    ('\ufeff"1","t","d"\n"9","t","d"\n', 2, ["label 9"]),
    ('"1","t","d"\r\n"2","a","b\r\nc"\r\n"7","t","d"\r\n', 4, ["label 7"]),
    ('"1","t","d"\n\n\n"2","t"\n', 4, ["found 2"]),
    ('1,t,d\n2,t,d,e\n', 2, ["found 4"]),
    ('label,text\nWorld,ok\nSports,\n', 3, ["empty"]),
    ('label,text\nWorld,ok\nSports,a,b\n', 3, ["2 fields"]),
    ('label,text\nWorld,ok\n,text\n', 3, ["label"]),
])
def test_bad_rows_name_the_file_and_the_line(tmp_path, content, line, words):
    path = tmp_path / "broken_news.csv"
    path.write_bytes(content.encode("utf-8"))
    with pytest.raises(ValueError) as info:
        read_news_csv(path, num_classes=4)  # read as AG News itself: labels 1..4
    message = str(info.value)
    assert "broken_news.csv" in message and re.search(rf"\bline {line}\b", message), message
    for word in words:
        assert word in message


@pytest.mark.parametrize("content", [b"", b"\n\n\n", b"\xef\xbb\xbf", b"\xff\xfe\x00junk\n"])
def test_empty_or_garbled_files_are_named(tmp_path, content):
    path = tmp_path / "odd.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="odd.csv"):
        read_news_csv(path)


def test_missing_file_is_named_independent(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing_here.csv"):
        read_news_csv(tmp_path / "nothing_here.csv")


@pytest.mark.parametrize("variant", ["plain", "bom", "crlf", "unquoted", "blank_end",
                                     "bom_crlf_blank", "no_final_newline"])
def test_harmless_file_variants_read_the_same(tmp_path, variant):
    rows = [("3", "Oil jumps", "Prices rose 5% today."), ("1", "Talks", "Envoys met.")]
    expected = ["Oil jumps. Prices rose 5% today.", "Talks. Envoys met."]
    body = "".join(f"{a},{b},{c}\n" if variant == "unquoted" else f'"{a}","{b}","{c}"\n'
                   for a, b, c in rows)
    if "crlf" in variant:
        body = body.replace("\n", "\r\n")
    if "blank" in variant:
        body += "\n\n  \n" if "crlf" not in variant else "\r\n\r\n"
    if "bom" in variant:
        body = "\ufeff" + body
    if variant == "no_final_newline":
        body = body.rstrip("\n")
    path = tmp_path / "v.csv"
    path.write_bytes(body.encode("utf-8"))
    data = read_news_csv(path, num_classes=4)
    assert data.texts == expected and data.labels == [2, 0]
    assert data.label_names == AG_NEWS_CLASSES and "v.csv" in data.source


def test_title_or_description_alone_is_enough(tmp_path):
    path = write_ag_independent(tmp_path / "t.csv", [("2", "", "Only a description."), ("4", "Only a title", "")])
    assert read_news_csv(path).texts == ["Only a description.", "Only a title"]


def test_label_text_with_ag_news_names_in_any_case(tmp_path):
    path = tmp_path / "named.csv"
    path.write_text("label,text\nsci/tech,chips\nWORLD,talks\nSports,goal\n", encoding="utf-8")
    data = read_news_csv(path)
    assert data.label_names == AG_NEWS_CLASSES and data.labels == [3, 0, 1]


@pytest.mark.parametrize("names", [["neg", "pos"], ["a", "b", "c", "d", "e"],
                                   ["World", "Politics"]])
def test_label_text_with_other_string_labels(tmp_path, names):
    path = tmp_path / "other.csv"
    labels = [names[i % len(names)] for i in range(2 * len(names))]
    path.write_text("label,text\n" + "".join(f"{y},item {i}\n" for i, y in enumerate(labels)),
                    encoding="utf-8")
    data = read_news_csv(path)
    assert sorted(data.label_names) == sorted(names) and len(data.label_names) == len(names)
    assert [data.label_names[y] for y in data.labels] == labels


@pytest.mark.parametrize(("labels", "expected", "k"), [
    ([1, 2, 3, 4, 2], [0, 1, 2, 3, 1], 4),
    ([0, 1, 2, 3], [0, 1, 2, 3], 4),
    ([0, 1, 1, 0], [0, 1, 1, 0], 2),
    ([1, 2, 2], [0, 1, 1], 2),
    ([1, 5, 3], [0, 4, 2], 5),
])
def test_label_text_with_integer_labels(tmp_path, labels, expected, k):
    path = tmp_path / "ints.csv"
    path.write_text("label,text\n" + "".join(f"{y},item {i}\n" for i, y in enumerate(labels)),
                    encoding="utf-8")
    data = read_news_csv(path)
    assert data.labels == expected
    assert len(data.label_names) == k  # as many classes as the file's labels span


def test_label_text_header_with_bom_and_windows_line_endings(tmp_path):
    path = tmp_path / "h.csv"
    path.write_bytes("\ufeffLabel,Text\r\nBusiness,\"Oil, gas\"\r\nWorld,Talks\r\n\r\n".encode())
    data = read_news_csv(path)
    assert data.texts == ["Oil, gas", "Talks"] and data.labels == [2, 0]


def test_mixed_string_and_integer_labels_are_an_error(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("label,text\nWorld,a\n3,b\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"mixed\.csv, line 3"):
        read_news_csv(path)


# ------------------------------------------------------------------ cleaning


@pytest.mark.parametrize(("raw", "clean"), [
    ("Iraq #39;s leader", "Iraq's leader"),
    ("he said  quot;no quot; today", 'he said "no" today'),
    ("Market Heading To  #36;30 Billion", "Market Heading To $30 Billion"),
    ("a golf course as \\$40 million", "a golf course as $40 million"),
    ("Johnson  amp; Johnson", "Johnson & Johnson"),
    ("leaves a\\lot to be desired.\\\\First off", "leaves a lot to be desired. First off"),
    ("authority in &lt;b&gt;...&lt;/b&gt;", "authority in ..."),
    ('Inc. &lt;A HREF="http://x.com/q?ticker=HD.N"&gt;HD.N&lt;/A&gt; rose', "Inc. HD.N rose"),
    ("Microsoft Corp. &lt;MSFT.O&gt; said", "Microsoft Corp. <MSFT.O> said"),
    ("nothing new  #151; nothing", "nothing new \u2014 nothing"),
    ("&lt;p&gt;&lt;/p&gt;&lt;p&gt; By Alan&lt;/p&gt;", "By Alan"),
    ("years.&lt;br&gt;&lt;FONT face=\"verdana\"&gt;-Ellen&lt;/FONT&gt;", "years. -Ellen"),
    ("many     spaces\t and\nlines  ", "many spaces and lines"),
    ("AT&T and Sales&regulation stay", "AT&T and Sales&regulation stay"),
    ("1.2 per cent; up", "1.2 per cent; up"),
    ("", ""),
    ("   ", ""),
])
def test_clean_news_text_quirks(raw, clean):
    assert clean_news_text(raw) == clean
    assert clean_news_text(clean) == clean


def test_clean_news_text_rejects_non_strings():
    for bad in (None, 3, b"bytes"):
        with pytest.raises(TypeError):
            clean_news_text(bad)


def real_line(number):
    if not SHARED_TRAIN_INDEPENDENT.is_file():
        pytest.skip(f"the real AG News rows are not here ({SHARED_TRAIN_INDEPENDENT}); they sit beside the "
                    "repository on the course's build machine only")
    (label, title, description), = csv.reader([linecache.getline(str(SHARED_TRAIN_INDEPENDENT), number)])
    return label, title + " " + description


@pytest.mark.parametrize(("line", "raw_quirk", "kept", "gone"), [
    (1385, "#36;", ["Cuba $50,000 Hurricane Aid (AP)", "receive $50,000 in U.S."], ["#36;"]),
    (3654, " amp;", ["Johnson & Johnson missing out", "Johnson & Johnson can't"], ["amp;"]),
    (471, "\\$", ["golf course as $40 million"], ["\\"]),
    (6350, "&lt;b&gt;", ["Washington's 'Iraqi problem': invest authority in ...",
                         'a "Sunni problem" in Iraq'], ["&lt;", "<b>", "quot;", "#39;"]),
    (1399, "&lt;A HREF", ["Home Depot Inc. HD.N rose before"], ["HREF", "&gt;", "<"]),
    (13907, "&lt;p&gt;", ["Another Team. By Alan Baldwin SAO PAULO (Reuters)"], ["<p>", "&lt;"]),
    (25758, "&lt;br&gt;", ["in recent years. -Ellen McCarthy"], ["<", "FONT", "&gt;"]),
    (172, "\\lot", ["leaves a lot to be desired. First off", "create your own /etc/ntpd.conf"],
     ["\\"]),
    (2968, "#151;", ["nothing new here to see \u2014 nothing new"], ["#151;"]),
    (206, "&lt;MSFT.O&gt;", ["Microsoft Corp. <MSFT.O> said it will"], ["&lt;"]),
])
def test_cleaning_real_ag_news_lines(line, raw_quirk, kept, gone):
    _, raw = real_line(line)
    assert raw_quirk in raw  # the quirk is really in that line
    text = read_news_csv_row(line)
    for part in kept:
        assert part in text
    for part in gone:
        assert part not in text
    assert "  " not in text and text == text.strip()


def read_news_csv_row(line):
    """The cleaned text of one line of the shared file, read through read_news_csv."""
    return real_file().texts[line - 1]


_REAL = {}


def real_file():
    if "data" not in _REAL:
        _REAL["data"] = read_news_csv(SHARED_TRAIN_INDEPENDENT)
    return _REAL["data"]


def test_no_quirk_survives_cleaning_anywhere_in_the_real_file():
    if not SHARED_TRAIN_INDEPENDENT.is_file():
        pytest.skip(f"the real AG News rows are not here ({SHARED_TRAIN_INDEPENDENT})")
    data = real_file()
    assert len(data) == 41_342
    leftovers = re.compile(r"#\d+;|(?:^| )(?:quot|amp|lt|gt|nbsp);|&lt;|&gt;|\\|  |"
                           r"</?(?:a|b|p|br|font|strong|i|em|img|cite|nobr)\b[^<>]*>", re.I)
    bad = [t for t in data.texts if leftovers.search(t) or t != t.strip() or not t]
    assert bad == []

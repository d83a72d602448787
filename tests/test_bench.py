"""The news benchmark: both CSV formats, label matching, bad files, tiny end-to-end runs."""

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from bigmodel_lib import baselines, bench

TOPICS = {  # label -> words that only that class uses
    "World": "election minister parliament embassy troops treaty",
    "Sports": "goal match striker season coach tournament",
    "Business": "shares profit earnings merger investors quarter",
    "Sci/Tech": "software chip internet wireless processor browser",
    "Health": "vaccine hospital patients doctors virus clinic",
}


def make_rows(labels, n_per_class, seed):
    """(label, title, description) rows whose words reveal their class."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_per_class):
        for label in labels:
            words = TOPICS[label].split()
            title = " ".join(rng.choice(words, 3))
            description = " ".join(rng.choice(words, 6)) + " said on monday"
            rows.append((label, title.capitalize(), description))
    return rows


def write_ag_news(path, rows, classes):
    number = {name: i + 1 for i, name in enumerate(classes)}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        for label, title, description in rows:
            writer.writerow([number[label], title, description])
    return path


def write_label_text(path, rows, rename=None):
    rename = rename or {}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "text"])
        for label, title, description in rows:
            writer.writerow([rename.get(label, label), f"{title}. {description}"])
    return path


AG = ["World", "Sports", "Business", "Sci/Tech"]


@pytest.fixture
def ag_files(tmp_path):
    train = write_ag_news(tmp_path / "train.csv", make_rows(AG, 30, 0), AG)
    test = write_ag_news(tmp_path / "test.csv", make_rows(AG, 5, 1), AG)
    return train, test


def test_ag_news_format_end_to_end_with_tfidf(ag_files, tmp_path, capsys):
    train, test = ag_files
    out = tmp_path / "results" / "tfidf.json"
    assert bench.main(["news", "--train", str(train), "--test", str(test), "--model", "tfidf",
                       "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["accuracy"] == 1.0  # the words give every class away
    assert result["classes"] == AG and list(result["per_class"]) == AG
    assert result["per_class"]["Sports"]["support"] == 5
    for key in ("macro_f1", "train_seconds", "train_examples_per_s", "eval_examples_per_s"):
        assert key in result and result[key] > 0
    for text in ("accuracy  1.0000", "macro-F1", "Sci/Tech", "examples/s", str(out)):
        assert text in printed


def test_label_text_format_with_unseen_label_strings_and_five_classes(tmp_path):
    names = ["World", "Sports", "Business", "Sci/Tech", "Health"]
    rename = {"World": "politics", "Sports": "sport", "Business": "money", "Sci/Tech": "tech",
              "Health": "medicine"}
    train = write_label_text(tmp_path / "train.csv", make_rows(names, 20, 0), rename)
    test = write_label_text(tmp_path / "test.csv", make_rows(names, 4, 1), rename)
    result = bench.benchmark_news(train, test, "tfidf")
    assert result["classes"] == sorted(rename.values())
    assert result["accuracy"] == 1.0 and result["test_rows"] == 20


def test_test_labels_are_matched_to_training_classes_by_name(tmp_path):
    # The test file lacks class "a": its own numbering would shift "b" and "c" down by one.
    rename = {"World": "a", "Sports": "b", "Business": "c"}
    train = write_label_text(tmp_path / "train.csv",
                             make_rows(["World", "Sports", "Business"], 20, 0), rename)
    test = write_label_text(tmp_path / "test.csv", make_rows(["Sports", "Business"], 5, 1), rename)
    split, texts, labels = bench.read_train_test(train, test)
    assert split.label_names == ["a", "b", "c"]
    assert sorted(set(labels)) == [1, 2] and len(texts) == 10
    result = bench.benchmark_news(train, test, "tfidf")
    assert result["accuracy"] == 1.0 and result["macro_f1"] == 1.0  # over the classes present
    assert result["per_class"]["a"]["support"] == 0


@pytest.mark.parametrize("first", [0, 1])
def test_integer_labels_keep_the_training_numbering_when_the_test_file_lacks_the_first_class(tmp_path, first):
    # Classes numbered 0..4 (or 1..5); the test file has only the last two, whose smallest
    # number alone would look like a 1-based (or an impossible) numbering.
    names = ["World", "Sports", "Business", "Sci/Tech", "Health"]
    number = {name: str(i + first) for i, name in enumerate(names)}
    train = write_label_text(tmp_path / "train.csv", make_rows(names, 20, 0), number)
    test = write_label_text(tmp_path / "test.csv", make_rows(names[3:], 5, 1), number)
    split, texts, labels = bench.read_train_test(train, test)
    assert split.label_names == [str(i + first) for i in range(5)]
    assert sorted(set(labels)) == [3, 4] and len(texts) == 10
    assert bench.benchmark_news(train, test, "tfidf")["accuracy"] == 1.0


def test_an_integer_test_label_beyond_the_training_classes_is_a_clear_error(tmp_path):
    number = {"World": "0", "Sports": "1", "Business": "2"}
    train = write_label_text(tmp_path / "train.csv", make_rows(["World", "Sports"], 5, 0), number)
    test = write_label_text(tmp_path / "test.csv", make_rows(["Business"], 2, 1), number)
    with pytest.raises(ValueError, match=r"test.csv, line 2: label 2 is out of range; the labels are 0..1"):
        bench.read_train_test(train, test)


def test_two_classes_and_mixed_formats(tmp_path):
    rows = make_rows(["World", "Sports"], 20, 0)
    train = write_ag_news(tmp_path / "train.csv", rows, AG)  # labels 1 and 2 only
    test = write_label_text(tmp_path / "test.csv", make_rows(["World", "Sports"], 5, 1))
    result = bench.benchmark_news(train, test, "tfidf")
    assert result["accuracy"] == 1.0 and result["test_rows"] == 10


def test_a_test_label_unknown_to_training_is_a_clear_error(tmp_path, capsys):
    rename = {"World": "a", "Sports": "b", "Business": "zzz"}
    train = write_label_text(tmp_path / "train.csv", make_rows(["World", "Sports"], 10, 0), rename)
    test = write_label_text(tmp_path / "test.csv", make_rows(["World", "Business"], 3, 1), rename)
    with pytest.raises(ValueError, match=r"\['zzz'\] do not occur in the training file"):
        bench.read_train_test(train, test)
    assert bench.main(["news", "--train", str(train), "--test", str(test), "--model",
                       "tfidf"]) == 2
    assert "bench: error:" in capsys.readouterr().err


def test_a_training_file_with_one_class_is_refused(tmp_path):
    rows = make_rows(["Sports"], 10, 0)
    train = write_label_text(tmp_path / "train.csv", rows)
    with pytest.raises(ValueError, match="at least 2 classes"):
        bench.read_train_test(train, train)


@pytest.mark.parametrize("content, match", [
    ("", "empty"),
    ('"0","title","text"\n', "out of range"),
    ('"1","only a title"\n', "expected 3 fields"),
    ("label,text\nWorld\n", "expected 2 fields"),
    ('"x","title","text"\n', "not an integer"),
])
def test_bad_files_give_clear_errors(tmp_path, content, match, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    good = write_ag_news(tmp_path / "good.csv", make_rows(AG, 2, 0), AG)
    with pytest.raises(ValueError, match=match):
        bench.read_train_test(bad, good)
    assert bench.main(["news", "--train", str(good), "--test", str(bad), "--model",
                       "tfidf"]) == 2
    err = capsys.readouterr().err
    assert "bench: error:" in err and "bad.csv" in err


def test_missing_file_and_bad_options(tmp_path, ag_files, capsys):
    train, _ = ag_files
    assert bench.main(["news", "--train", str(train), "--test", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["news", "--train", str(train)])  # --test is required
    with pytest.raises(ValueError, match="time-budget"):
        bench.benchmark_news(train, train, "tfidf", time_budget_s=0)


def test_subsample_is_seeded_and_keeps_pairs():
    texts = [f"t{i}" for i in range(100)]
    labels = list(range(100))
    a = baselines.subsample(texts, labels, 10, seed=1)
    assert a == baselines.subsample(texts, labels, 10, seed=1)
    assert a != baselines.subsample(texts, labels, 10, seed=2)
    assert all(t == f"t{y}" for t, y in zip(*a, strict=True)) and len(a[0]) == 10
    assert baselines.subsample(texts, labels, None) == (texts, labels)
    assert baselines.subsample(texts, labels, 1000) == (texts, labels)


def test_one_step_minilm_run(ag_files, tmp_path):
    train, test = ag_files
    out = tmp_path / "minilm.json"
    code = bench.main(["news", "--train", str(train), "--test", str(test), "--model", "minilm",
                       "--max-train", "8", "--max-length", "16", "--epochs", "1", "--seed", "3",
                       "--out", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert result["train_examples"] == 8 and result["test_rows"] == 20
    assert 0.0 <= result["accuracy"] <= 1.0
    config = result["details"]["config"]
    assert config["max_length"] == 16 and config["max_train"] == 8


def test_time_budget_stops_training_after_the_first_batch(ag_files):
    train, test = ag_files
    result = bench.benchmark_news(train, test, "minilm", max_train=64, max_length=16,
                                  time_budget_s=1e-6)
    assert result["train_examples"] == 32  # one batch of the default 32, then the budget
    assert "time budget" in result["details"]["stop_reason"]


def test_bilstm_learns_the_toy_task(ag_files):
    train, test = ag_files
    result = bench.benchmark_news(train, test, "bilstm", epochs=3)
    assert result["accuracy"] > 0.9
    assert result["details"]["vocabulary"] > 20


def test_minilm_plus_tfidf_ensemble_and_two_class_scores(tmp_path):
    rows = make_rows(["World", "Sports"], 12, 0)
    train = write_label_text(tmp_path / "train.csv", rows)
    test = write_label_text(tmp_path / "test.csv", make_rows(["World", "Sports"], 3, 1))
    split, texts, labels = bench.read_train_test(train, test)
    scores = baselines.run_model("tfidf", split.texts, split.labels, texts, 4).scores
    assert scores.shape == (6, 4) and np.isinf(scores[:, 2:]).all()  # classes never trained
    result = bench.benchmark_news(train, test, "minilm+tfidf", max_train=8, max_length=16, epochs=1)
    assert result["accuracy"] == 1.0  # TF-IDF alone is perfect here; the average keeps it
    assert "ensemble" in result["details"] and result["train_examples"] == 8


# ---------------------------------------------------------------- options and --out (issue 22)


@pytest.mark.parametrize("option, value", [
    ("--max-length", "0"), ("--max-length", "-3"), ("--epochs", "0"), ("--epochs", "-1"),
    ("--max-train", "0"), ("--time-budget-s", "0"), ("--time-budget-s", "-5"),
    ("--time-budget-s", "nan"), ("--time-budget-s", "inf"), ("--threads", "0"), ("--seed", "-1"),
])
@pytest.mark.parametrize("model", ["bilstm", "minilm", "tfidf"])
def test_every_numeric_option_is_refused_before_anything_trains(ag_files, capsys, monkeypatch,
                                                                 option, value, model):
    from bigmodel_lib import baselines as runners

    monkeypatch.setattr(runners, "run_model", lambda *a, **k: pytest.fail("trained anyway"))
    monkeypatch.setattr(bench, "read_train_test", lambda *a, **k: pytest.fail("read the files"))
    train, test = ag_files
    code = bench.main(["news", "--train", str(train), "--test", str(test), "--model", model,
                       option, value])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("bench: error: ")
    assert option in err[0]


@pytest.mark.parametrize("field, value", [("max_length", 0), ("epochs", 0), ("lr", -1.0),
                                          ("dropout", "0.1"), ("batch_size", True),
                                          ("warmup", -0.1), ("freeze_layers", -1)])
def test_model_configs_validate_every_number_in_one_place(field, value):
    from dataclasses import replace

    for make in (lambda: baselines.make_config("bilstm"), lambda: baselines.make_config("minilm")):
        config = make()
        if not hasattr(config, field):
            continue
        with pytest.raises((ValueError, TypeError), match=field):
            replace(config, **{field: value})


def test_bilstm_max_length_below_one_is_refused_by_the_config():
    with pytest.raises(ValueError, match="max_length must be a positive integer"):
        baselines.make_config("bilstm", max_length=0)
    with pytest.raises(ValueError, match="max_length must be >= 3"):
        baselines.make_config("minilm", max_length=2)


def _tfidf_args(train, test, out):
    return ["news", "--train", str(train), "--test", str(test), "--model", "tfidf", "--out", str(out)]


@pytest.mark.parametrize("which", ["train", "test", "train via ..", "test via a symlink"])
def test_out_that_is_an_input_is_refused_and_the_input_kept(ag_files, tmp_path, capsys, which):
    train, test = ag_files
    before = {train: train.read_bytes(), test: test.read_bytes()}
    target = {"train": train, "test": test,
              "train via ..": tmp_path / "sub" / ".." / train.name}.get(which)
    if which == "test via a symlink":
        target = tmp_path / "link.csv"
        target.symlink_to(test)
    (tmp_path / "sub").mkdir(exist_ok=True)
    assert bench.main(_tfidf_args(train, test, target)) == 2
    err = capsys.readouterr().err
    assert "bench: error: --out" in err and "input file" in err
    assert {p: p.read_bytes() for p in before} == before


def test_out_that_cannot_be_written_fails_before_training(ag_files, tmp_path, capsys, monkeypatch):
    from bigmodel_lib import baselines as runners

    monkeypatch.setattr(runners, "run_model", lambda *a, **k: pytest.fail("trained anyway"))
    train, test = ag_files
    (tmp_path / "folder").mkdir()
    for out in (tmp_path / "folder", train / "results.json"):
        assert bench.main(_tfidf_args(train, test, out)) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("bench: error: --out")


def test_out_is_written_atomically(ag_files, tmp_path, monkeypatch):
    train, test = ag_files
    out = tmp_path / "r.json"
    out.write_text("old results\n")
    real_replace = os.replace
    seen = []

    def spy(src, dst):
        seen.append((Path(src).parent, Path(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(bench.os, "replace", spy)
    assert bench.main(_tfidf_args(train, test, out)) == 0
    assert seen == [(tmp_path, out.resolve())]
    assert json.loads(out.read_text())["accuracy"] == 1.0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

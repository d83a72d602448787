"""The offline encoder: hash check, tampered weights, the classifier heads (chapter 08)."""

import shutil

import pytest
import torch

from bigmodel_lib import models
from bigmodel_lib.models import (
    MINILM_SHA256,
    MeanPoolClassifier,
    load_pretrained_classifier,
    minilm_dir,
    sha256_file,
    verify_minilm,
)


@pytest.fixture(scope="module")
def minilm():
    model, tokenizer = load_pretrained_classifier("minilm", 4)
    return model, tokenizer


@pytest.fixture
def model_copy(tmp_path):
    """A copy of the packaged model folder that a test may damage."""
    folder = tmp_path / "minilm"
    shutil.copytree(minilm_dir(), folder)
    return folder


def test_packaged_weights_match_the_pinned_hash():
    assert sha256_file(minilm_dir() / "model.safetensors") == MINILM_SHA256
    assert verify_minilm() == minilm_dir()


def test_sha256_file_of_a_small_file(tmp_path):
    path = tmp_path / "abc.txt"
    path.write_bytes(b"abc")
    assert sha256_file(path, chunk_size=2) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    with pytest.raises(FileNotFoundError, match="no such file"):
        sha256_file(tmp_path / "missing.bin")


def test_tampered_weights_are_refused_not_loaded(model_copy, monkeypatch):
    weights = model_copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit deep inside a tensor
    weights.write_bytes(bytes(data))

    def must_not_build(*args, **kwargs):
        raise AssertionError("a model was built from a file that failed its hash check")

    import transformers

    monkeypatch.setattr(transformers.AutoModel, "from_config", must_not_build)
    with pytest.raises(ValueError, match="sha256") as info:
        load_pretrained_classifier("minilm", 4, model_dir=model_copy)
    assert "changed or damaged" in str(info.value) and MINILM_SHA256 in str(info.value)
    with pytest.raises(ValueError, match="changed or damaged"):
        verify_minilm(model_copy)


def test_missing_weights_file_is_a_clear_error(model_copy):
    (model_copy / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_pretrained_classifier("minilm", 4, model_dir=model_copy)


def test_intact_copy_loads_the_same_weights(model_copy, minilm):
    model, _ = load_pretrained_classifier("minilm", 4, model_dir=model_copy)
    reference, _ = minilm
    for (name, a), (_, b) in zip(model.encoder.state_dict().items(),
                                 reference.encoder.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_encoder_weights_are_the_pretrained_ones(minilm):
    from safetensors.torch import load_file

    model, _ = minilm
    state = load_file(str(minilm_dir() / "model.safetensors"))
    encoder = model.encoder.state_dict()
    for name, value in encoder.items():
        assert torch.equal(value, state[name]), name


def test_returns_model_and_tokenizer_with_logits(minilm):
    model, tokenizer = minilm
    assert isinstance(model, MeanPoolClassifier) and model.training
    batch = tokenizer(["Stocks fell sharply.", "The team won the cup final."], padding=True,
                      return_tensors="pt")
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    assert out.logits.shape == (2, 4)
    assert tokenizer.convert_ids_to_tokens(batch["input_ids"][0])[0] == "[CLS]"


def test_cls_pooling_gives_a_transformers_classifier_with_the_same_encoder(minilm):
    model, _ = load_pretrained_classifier("minilm", 3, pooling="cls")
    assert type(model).__name__ == "BertForSequenceClassification"
    assert model.config.num_labels == 3
    reference, _ = minilm
    torch.testing.assert_close(model.bert.encoder.layer[5].output.dense.weight,
                               reference.encoder.encoder.layer[5].output.dense.weight)


def test_mean_pooling_ignores_padding(minilm):
    model, tokenizer = minilm
    model.eval()
    text = "Oil prices rose after the storm hit the gulf coast."
    alone = tokenizer([text], return_tensors="pt")
    padded = tokenizer([text], padding="max_length", max_length=40, return_tensors="pt")
    with torch.no_grad():
        a = model(input_ids=alone["input_ids"], attention_mask=alone["attention_mask"]).logits
        b = model(input_ids=padded["input_ids"], attention_mask=padded["attention_mask"]).logits
    model.train()
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_mean_pool_classifier_computes_the_masked_mean():
    class Stub(torch.nn.Module):
        config = type("C", (), {"hidden_size": 3, "initializer_range": 0.02})()

        def forward(self, input_ids, attention_mask=None, token_type_ids=None):
            hidden = input_ids.float().unsqueeze(-1) * torch.tensor([1.0, 2.0, 3.0])
            return type("Out", (), {"last_hidden_state": hidden})()

    head = MeanPoolClassifier(Stub(), num_labels=2, dropout=0.0)
    ids = torch.tensor([[2, 4, 9], [6, 0, 0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    pooled = torch.tensor([[3.0, 6.0, 9.0], [6.0, 12.0, 18.0]])  # means of (2, 4) and (6)
    expected = pooled @ head.classifier.weight.T + head.classifier.bias
    torch.testing.assert_close(head(ids, mask).logits, expected)
    out = head(ids, mask, labels=torch.tensor([0, 1]))
    loss = torch.nn.functional.cross_entropy(expected, torch.tensor([0, 1]))
    torch.testing.assert_close(out.loss, loss)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(name="minilm", num_labels=1), ValueError, "num_labels"),
    (dict(name="minilm", num_labels=True), ValueError, "num_labels"),
    (dict(name="", num_labels=4), TypeError, "hub id"),
    (dict(name=None, num_labels=4), TypeError, "hub id"),
    (dict(name="minilm", num_labels=4, pooling="max"), ValueError, "pooling"),
    (dict(name="minilm", num_labels=4, dropout=1.0), ValueError, "dropout"),
])
def test_bad_arguments_are_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_pretrained_classifier(**kwargs)


def test_hub_names_go_to_from_pretrained_without_remote_code(monkeypatch):
    calls = []

    def fake(name, **kwargs):
        calls.append((name, kwargs))
        raise OSError("offline test: no download")

    import huggingface_hub
    import transformers

    monkeypatch.setenv("BIGMODEL_PROFILE", "gpu")  # only the online profile may use the hub
    monkeypatch.setattr(huggingface_hub, "model_info", lambda name, timeout=None: object())
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fake)
    with pytest.raises(OSError, match="offline test"):
        load_pretrained_classifier("bert-base-uncased", 4)
    assert calls == [("bert-base-uncased", {"trust_remote_code": False, "local_files_only": False})]


def test_loading_prints_nothing_and_restores_logging(capsys, model_copy):
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    load_pretrained_classifier("minilm", 2, model_dir=model_copy)
    load_pretrained_classifier("minilm", 2, pooling="cls", model_dir=model_copy)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert hf_logging.get_verbosity() == level
    assert models.quiet_transformers  # the context manager is public for notebooks


# ---------------------------------------------------------------- model names and the network (issue 22)
class NetworkTouched(BaseException):
    """Raised by the blocked socket functions; a BaseException, so no library can swallow it."""


@pytest.fixture
def no_network(monkeypatch):
    """Any DNS lookup or connection fails loudly: the default profile must not try one."""
    import socket

    def refuse(*args, **kwargs):
        raise NetworkTouched(f"network used: {args[:2]}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("BIGMODEL_PROFILE", "default")


@pytest.mark.parametrize("name, suggestion", [
    ("minlm", "minilm"), ("MiniLM", "minilm"), ("minilmm", "minilm"),
    ("bert-base-uncased", None), ("sentence-transformers/all-MiniLM-L6-v2", None),
    ("google/bert_uncased_L-2_H-128_A-2", None),
])
def test_default_profile_refuses_non_local_names_at_once_without_network(no_network, name, suggestion):
    import time

    start = time.perf_counter()
    with pytest.raises(models.ModelNotAvailableError) as info:
        load_pretrained_classifier(name, 4)
    assert time.perf_counter() - start < 2.0
    message = str(info.value)
    assert "'minilm'" in message and "BIGMODEL_PROFILE=gpu" in message and "offline" in message
    if suggestion:
        assert f"Did you mean '{suggestion}'?" in message
    else:
        assert "Did you mean" not in message
    assert isinstance(info.value, ValueError)  # callers that catch bad arguments catch it


@pytest.mark.parametrize("model, suggestion", [
    ("minlm", "minilm"), ("tfdif", "tfidf"), ("bilstn", "bilstm"), ("minilm+tfdif", "minilm+tfidf"),
    ("bert-base-uncased", None), ("bert-base-uncased+tfidf", None),
])
def test_bench_turns_an_unknown_model_into_one_error_line(no_network, tmp_path, capsys, model, suggestion):
    from bigmodel_lib import bench

    rows = "label,text\nsports,the team won\nworld,talks resumed\n"
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text(rows)
    test.write_text(rows)
    rc = bench.main(["news", "--train", str(train), "--test", str(test), "--model", model])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("bench: error: ")
    assert "BIGMODEL_PROFILE=gpu" in err[0]
    if suggestion:
        assert f"Did you mean '{suggestion}'" in err[0]


def test_local_names_and_folders_resolve_offline(no_network, model_copy):
    assert models.resolve_model_name("minilm") == "minilm"
    assert models.resolve_model_name("tfidf", local_names=("tfidf", "minilm")) == "tfidf"
    assert models.resolve_model_name(str(model_copy)) == str(model_copy)
    model, tokenizer = load_pretrained_classifier(str(model_copy), 3, pooling="mean")  # offline
    assert isinstance(model, MeanPoolClassifier) and tokenizer("a b")["input_ids"][0] == 101


@pytest.mark.parametrize("name", ["./no/such/folder", "/no/such/model", "a/b/c", "~/missing-model-dir"])
def test_a_missing_folder_is_named_not_looked_up(no_network, name):
    with pytest.raises(models.ModelNotAvailableError, match="no such model folder"):
        models.resolve_model_name(name)


@pytest.mark.parametrize("bad", ["", "   ", None, 3])
def test_resolve_rejects_non_names(bad):
    with pytest.raises(TypeError, match="hub id"):
        models.resolve_model_name(bad)


def test_online_unknown_hub_model_says_did_you_mean(monkeypatch):
    import huggingface_hub

    class RepositoryNotFoundError(OSError):
        pass

    def not_found(name, timeout=None):
        raise RepositoryNotFoundError(f"404 Client Error: Repository Not Found for url: .../{name}")

    monkeypatch.setenv("BIGMODEL_PROFILE", "gpu")
    monkeypatch.setattr(huggingface_hub, "model_info", not_found)
    with pytest.raises(models.ModelNotAvailableError, match="Did you mean 'minilm'") as info:
        models.resolve_model_name("minlm")
    assert "no public model" in str(info.value)
    with pytest.raises(models.ModelNotAvailableError, match="no public model"):
        load_pretrained_classifier("org/no-such-model", 2)


def test_online_a_silent_hub_is_a_clear_error_within_the_timeout(monkeypatch):
    import threading
    import time

    import huggingface_hub

    release = threading.Event()

    def never_answers(name, timeout=None):
        release.wait(30)  # a server that accepts the connection and says nothing
        return object()

    monkeypatch.setenv("BIGMODEL_PROFILE", "gpu")
    monkeypatch.setattr(huggingface_hub, "model_info", never_answers)
    start = time.perf_counter()
    try:
        with pytest.raises(models.ModelNotAvailableError, match="did not answer within 0.3 s"):
            models.resolve_model_name("bert-base-uncased", timeout_s=0.3)
    finally:
        release.set()
    assert time.perf_counter() - start < 2.0


def test_online_no_connection_is_a_clear_error(monkeypatch):
    import huggingface_hub

    def no_route(name, timeout=None):
        raise ConnectionError("[Errno -2] Name or service not known")

    monkeypatch.setenv("BIGMODEL_PROFILE", "gpu")
    monkeypatch.setattr(huggingface_hub, "model_info", no_route)
    with pytest.raises(models.ModelNotAvailableError, match="could not reach the Hugging Face hub"):
        models.resolve_model_name("bert-base-uncased")
    with pytest.raises(ValueError, match="timeout_s"):
        models.resolve_model_name("bert-base-uncased", timeout_s=0)


# ---------------------------------------------------------------- every packaged file is pinned (issue 22)
def test_every_pinned_file_matches_the_installed_package():
    assert set(models.MINILM_FILES_SHA256) >= {"model.safetensors", "config.json", "tokenizer.json",
                                               "tokenizer_config.json", "vocab.txt"}
    for name, digest in models.MINILM_FILES_SHA256.items():
        assert sha256_file(minilm_dir() / name) == digest, name


@pytest.mark.parametrize("name, change", [
    ("config.json", lambda b: b.replace(b'"num_hidden_layers": 6', b'"num_hidden_layers": 5')),
    ("config.json", lambda b: b + b"\n"),
    ("tokenizer.json", lambda b: b.replace(b'"[UNK]"', b'"[UNX]"', 1)),
    ("tokenizer_config.json", lambda b: b.replace(b'"do_lower_case": true', b'"do_lower_case": false')),
    ("vocab.txt", lambda b: b.replace(b"\nthe\n", b"\nteh\n", 1)),
    ("special_tokens_map.json", lambda b: b.replace(b"[CLS]", b"[CLX]")),
])
def test_a_changed_config_or_tokenizer_file_is_refused(model_copy, name, change):
    path = model_copy / name
    data = path.read_bytes()
    changed = change(data)
    assert changed != data
    path.write_bytes(changed)
    with pytest.raises(ValueError, match="changed or damaged") as info:
        load_pretrained_classifier("minilm", 4, model_dir=model_copy)
    assert name in str(info.value) and models.MINILM_FILES_SHA256[name] in str(info.value)
    with pytest.raises(ValueError, match="changed or damaged"):
        verify_minilm(model_copy)


@pytest.mark.parametrize("name", ["config.json", "vocab.txt", "tokenizer.json"])
def test_a_missing_pinned_file_is_a_clear_error(model_copy, name):
    (model_copy / name).unlink()
    with pytest.raises(FileNotFoundError, match=name):
        load_pretrained_classifier("minilm", 4, model_dir=model_copy)
    with pytest.raises(FileNotFoundError, match=name):
        verify_minilm(model_copy)

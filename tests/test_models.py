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

    import transformers

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fake)
    with pytest.raises(OSError, match="offline test"):
        load_pretrained_classifier("bert-base-uncased", 4)
    assert calls == [("bert-base-uncased", {"trust_remote_code": False})]


def test_loading_prints_nothing_and_restores_logging(capsys, model_copy):
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    load_pretrained_classifier("minilm", 2, model_dir=model_copy)
    load_pretrained_classifier("minilm", 2, pooling="cls", model_dir=model_copy)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert hf_logging.get_verbosity() == level
    assert models.quiet_transformers  # the context manager is public for notebooks

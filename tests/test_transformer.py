"""The from-scratch encoder (chapter 09) against torch's attention and transformers' BertModel."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from bigmodel_lib.economics import transformer_params
from bigmodel_lib.models import load_pretrained_classifier, minilm_state_dict
from bigmodel_lib.transformer import (
    Encoder,
    EncoderLayer,
    FeedForward,
    MultiHeadSelfAttention,
    mean_pool,
    scaled_dot_product_attention,
)

pytestmark = pytest.mark.usefixtures("one_thread")

HEADLINES = [
    "Oil prices rise after storm hits the Gulf",
    "Sony unveils PlayStation Portable; Nintendo's DS strikes back",
    "Red Sox win",
    "Chip maker's profit doubles as laptop sales soar, shares jump in late trading on Wall Street",
]


# --- attention ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 8), (2, 3, 7, 16), (1, 1, 1, 4)])
def test_attention_matches_torch_without_mask(shape):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(*shape, generator=g) for _ in range(3))
    out, weights = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), rtol=0, atol=1e-6)
    assert weights.shape == (*shape[:-1], shape[-2])
    torch.testing.assert_close(weights.sum(-1), torch.ones(shape[:-1]))


def test_attention_matches_torch_with_masks_of_several_shapes():
    g = torch.Generator().manual_seed(1)
    q = torch.randn(2, 3, 5, 8, generator=g)
    k = torch.randn(2, 3, 6, 8, generator=g)
    v = torch.randn(2, 3, 6, 4, generator=g)
    full = torch.rand(2, 3, 5, 6, generator=g) > 0.4
    full[..., 0] = True  # every query may attend somewhere
    padding = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)[:, None, None, :]
    causal = torch.ones(5, 6, dtype=torch.bool).tril()
    for mask in (full, padding, causal):
        out, weights = scaled_dot_product_attention(q, k, v, mask)
        torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                                   rtol=0, atol=1e-6)
        assert torch.all(weights.masked_select(~mask.expand_as(weights)) == 0)


def test_attention_is_a_weighted_mean_of_values():
    """One query equal to one key, much larger than the others: the output is that key's value."""
    k = torch.eye(3) * 30.0
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    out, weights = scaled_dot_product_attention(k[1:2], k, v)
    torch.testing.assert_close(out, v[1:2], atol=1e-4, rtol=0)
    assert weights.argmax().item() == 1


@pytest.mark.parametrize("mask, match", [
    (torch.ones(2, 5, dtype=torch.bool), "does not broadcast"),  # (B, L) where (B, 1, 1, L) was meant
    (torch.ones(4, 4, 4, dtype=torch.bool), "does not broadcast"),
    (torch.ones(1, 1, 4, dtype=torch.float32), "boolean"),
    (torch.zeros(1, 1, 4, dtype=torch.bool), "no key"),
])
def test_attention_bad_masks(mask, match):
    q = torch.randn(2, 3, 4, 8)
    with pytest.raises(ValueError, match=match):
        scaled_dot_product_attention(q, q, q, mask)


def test_attention_bad_shapes():
    with pytest.raises(ValueError, match="d_k"):
        scaled_dot_product_attention(torch.randn(3, 4), torch.randn(3, 5), torch.randn(3, 5))
    with pytest.raises(ValueError, match="L_k"):
        scaled_dot_product_attention(torch.randn(3, 4), torch.randn(3, 4), torch.randn(2, 4))
    with pytest.raises(TypeError, match="torch.Tensor"):
        scaled_dot_product_attention([[1.0]], torch.randn(1, 1), torch.randn(1, 1))


# --- the blocks ----------------------------------------------------------------------------

def test_multi_head_attention_matches_torch_multihead_attention():
    torch.manual_seed(0)
    ours = MultiHeadSelfAttention(16, 4).eval()
    theirs = torch.nn.MultiheadAttention(16, 4, batch_first=True).eval()
    with torch.no_grad():
        theirs.in_proj_weight.copy_(torch.cat([ours.w_q.weight, ours.w_k.weight, ours.w_v.weight]))
        theirs.in_proj_bias.copy_(torch.cat([ours.w_q.bias, ours.w_k.bias, ours.w_v.bias]))
        theirs.out_proj.weight.copy_(ours.w_o.weight)
        theirs.out_proj.bias.copy_(ours.w_o.bias)
    x = torch.randn(2, 5, 16)
    pad = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    out, weights = ours(x, pad)
    ref, ref_weights = theirs(x, x, x, key_padding_mask=pad == 0, average_attn_weights=False)
    assert out.shape == (2, 5, 16) and weights.shape == (2, 4, 5, 5)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)
    torch.testing.assert_close(weights, ref_weights, rtol=0, atol=1e-6)


def test_mismatched_head_count_is_refused():
    with pytest.raises(ValueError, match="5 heads cannot split 16"):
        MultiHeadSelfAttention(16, 5)
    with pytest.raises(ValueError, match="n_heads"):
        EncoderLayer(384, 7, 1536)
    with pytest.raises(ValueError, match="n_heads"):
        MultiHeadSelfAttention(16, 0)


def test_multi_head_attention_bad_inputs():
    attention = MultiHeadSelfAttention(8, 2)
    with pytest.raises(ValueError, match="attention_mask must have shape"):
        attention(torch.randn(2, 5, 8), torch.ones(2, 4))
    with pytest.raises(ValueError, match="8 features"):
        attention(torch.randn(2, 5, 6))


def test_feed_forward_is_per_position():
    torch.manual_seed(0)
    ffn = FeedForward(8, 32)
    x = torch.randn(3, 5, 8)
    torch.testing.assert_close(ffn(x)[:, 2], ffn(x[:, 2]))
    expected = ffn.w_2(F.gelu(ffn.w_1(x)))
    torch.testing.assert_close(ffn(x), expected)
    with pytest.raises(ValueError, match="activation"):
        FeedForward(8, 32, activation="swish")


def test_encoder_layer_is_post_layer_norm():
    torch.manual_seed(0)
    layer = EncoderLayer(8, 2, 32).eval()
    x = torch.randn(2, 4, 8)
    y, weights = layer(x)
    h = layer.attention_norm(x + layer.attention(x)[0])
    torch.testing.assert_close(y, layer.output_norm(h + layer.feed_forward(h)))
    torch.testing.assert_close(y.mean(-1), torch.zeros(2, 4), atol=1e-5, rtol=0)  # ends in a LayerNorm
    assert weights.shape == (2, 2, 4, 4)


def test_mean_pool_ignores_padding_and_checks_shapes():
    hidden = torch.arange(12.0).view(1, 4, 3).repeat(2, 1, 1)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    pooled = mean_pool(hidden, mask)
    torch.testing.assert_close(pooled[0], hidden[0, :2].mean(0))
    torch.testing.assert_close(pooled[1], hidden[1].mean(0))
    with pytest.raises(ValueError, match="mask must have shape"):
        mean_pool(hidden, mask[:, :3])
    with pytest.raises(ValueError, match="no real tokens"):
        mean_pool(hidden, torch.tensor([[0, 0, 0, 0], [1, 1, 1, 1]]))


# --- the real weights ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def minilm():
    """transformers' BertModel with the packaged MiniLM weights, its tokenizer, and ours."""
    classifier, tokenizer = load_pretrained_classifier("minilm", 4)
    reference = classifier.encoder.eval()
    ours = Encoder.from_bert_state_dict(minilm_state_dict(), reference.config)
    return reference, tokenizer, ours


def test_minilm_hidden_states_match_transformers_on_padded_batches(minilm):
    reference, tokenizer, ours = minilm
    batch = tokenizer(HEADLINES, padding=True, return_tensors="pt")
    assert (batch["attention_mask"] == 0).any(), "the batch must contain padding"
    with torch.no_grad():
        expected = reference(**batch).last_hidden_state
        got = ours(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    assert got.last_hidden_state.shape == expected.shape == (4, batch["input_ids"].shape[1], 384)
    assert (got.last_hidden_state - expected).abs().max().item() <= 1e-4
    assert len(got.attentions) == 6 and got.attentions[0].shape[1] == 12
    pooled = mean_pool(got.last_hidden_state, batch["attention_mask"])
    mask = batch["attention_mask"].unsqueeze(-1).float()
    expected_pooled = (expected * mask).sum(1) / mask.sum(1)
    assert (pooled - expected_pooled).abs().max().item() <= 1e-5


def test_minilm_padding_does_not_change_a_sentence(minilm):
    _, tokenizer, ours = minilm
    alone = tokenizer(HEADLINES[2:3], return_tensors="pt")
    padded = tokenizer(HEADLINES[2:3], padding="max_length", max_length=24, return_tensors="pt")
    with torch.no_grad():
        a = mean_pool(ours(alone["input_ids"], alone["attention_mask"]).last_hidden_state, alone["attention_mask"])
        b = mean_pool(ours(padded["input_ids"], padded["attention_mask"]).last_hidden_state,
                      padded["attention_mask"])
        unmasked = ours(padded["input_ids"]).last_hidden_state[:, : alone["input_ids"].shape[1]].mean(1)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    assert (unmasked - a).abs().max().item() > 1e-2  # forgetting the mask changes the vector


def test_parameter_count_equals_chapter_01_formula(minilm):
    reference, _, ours = minilm
    c = reference.config
    formula = transformer_params(c.num_hidden_layers, c.hidden_size, c.vocab_size, c.max_position_embeddings,
                                 n_heads=c.num_attention_heads, d_ff=c.intermediate_size,
                                 n_token_types=c.type_vocab_size)
    assert sum(p.numel() for p in ours.parameters()) == formula == 22_565_376
    assert formula == sum(p.numel() for p in reference.parameters())
    # the file also holds BERT's (untrained) pooler: the "22.7 million" of chapter 08
    in_file = sum(v.numel() for k, v in minilm_state_dict().items() if k != "embeddings.position_ids")
    assert in_file == formula + 384 * 384 + 384 == 22_713_216


def test_state_dict_missing_a_key_names_it(minilm):
    reference, _, _ = minilm
    state = dict(minilm_state_dict())
    del state["encoder.layer.3.output.dense.weight"]
    with pytest.raises(KeyError, match="encoder.layer.3.output.dense.weight"):
        Encoder.from_bert_state_dict(state, reference.config)


def test_state_dict_variants_and_wrong_shapes(minilm):
    reference, _, ours = minilm
    state = minilm_state_dict()
    # a task checkpoint's "bert." prefix and the old gamma/beta LayerNorm names
    renamed = {"bert." + k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
               for k, v in state.items()}
    again = Encoder.from_bert_state_dict(renamed, reference.config.to_dict())
    for (name, p), q in zip(ours.named_parameters(), again.parameters(), strict=True):
        assert torch.equal(p, q), name
    bad = dict(state)
    bad["encoder.layer.0.attention.self.query.weight"] = torch.zeros(384, 383)
    with pytest.raises(ValueError, match=r"encoder.layer.0.attention.self.query.weight.*\(384, 384\)"):
        Encoder.from_bert_state_dict(bad, reference.config)
    with pytest.raises(ValueError, match="config lacks .vocab_size."):
        Encoder.from_bert_state_dict(state, {"num_hidden_layers": 6})


def test_encoder_rejects_too_long_inputs_and_bad_ids(minilm):
    _, _, ours = minilm
    with pytest.raises(ValueError, match="at most 512"):
        ours(torch.zeros(1, 513, dtype=torch.long))
    with pytest.raises(ValueError, match="integer tensor"):
        ours(torch.zeros(1, 5))


def test_a_small_random_bert_loads_and_matches_with_token_types():
    """The mapping is not MiniLM-specific: a random 2-layer BERT with 4 heads, two segments."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=40)
    reference = BertModel(config, add_pooling_layer=False).eval()
    ours = Encoder.from_bert_state_dict(reference.state_dict(), config)
    assert isinstance(ours.layers[1], EncoderLayer) and len(ours.layers) == 2
    ids = torch.randint(1, 100, (3, 9))
    types = torch.tensor([[0] * 5 + [1] * 4] * 3)
    mask = torch.tensor([[1] * 9, [1] * 6 + [0] * 3, [1] * 2 + [0] * 7])
    with torch.no_grad():
        expected = reference(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        got = ours(ids, mask, types)
    real = mask.bool()
    torch.testing.assert_close(got.last_hidden_state[real], expected[real], rtol=0, atol=1e-5)
    assert [a.shape for a in got.attentions] == [(3, 4, 9, 9)] * 2


def test_encoder_built_directly_has_the_formula_parameter_count():
    encoder = Encoder(vocab_size=50, d_model=16, n_layers=3, n_heads=2, d_ff=48, max_positions=20)
    assert sum(p.numel() for p in encoder.parameters()) == transformer_params(
        3, 16, 50, 20, n_heads=2, d_ff=48, n_token_types=2)
    out = encoder(torch.randint(0, 50, (2, 7)))
    assert out.last_hidden_state.shape == (2, 7, 16)
    with pytest.raises(ValueError, match="n_layers"):
        Encoder(vocab_size=50, d_model=16, n_layers=0, n_heads=2, d_ff=48)


def test_loaded_weights_are_a_copy():
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=8)
    reference = BertModel(config, add_pooling_layer=False)
    ours = Encoder.from_bert_state_dict(reference.state_dict(), config)
    with torch.no_grad():
        ours.word_embeddings.weight.zero_()
    assert reference.embeddings.word_embeddings.weight.abs().sum() > 0
    assert all(p.requires_grad for p in ours.parameters())

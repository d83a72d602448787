# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: jupyter,tags,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 09 · Inside the encoder: attention and the Transformer, from scratch
# *中文：注意力机制与 Transformer 编码器*
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/bigmodel-course/bigmodel-course/blob/main/notebooks/09_inside_the_encoder.ipynb)
#
# Chapter 08 fine-tuned a BERT-family encoder without opening it. This chapter opens it.
# We rebuild all-MiniLM-L6-v2 from its equations in one short file of plain torch
# (`bigmodel_lib/transformer.py`), pour the real pretrained weights into our own code,
# and check that it computes the same numbers as the `transformers` library, to the
# fourth decimal. On the way we learn what self-attention computes, why the encoder
# needs a padding mask and position vectors, what its 22.6 million parameters are, and
# why 48 tokens cost less than 128.
#
# **You will learn**
# - attention as a *soft* dictionary look-up, its formula, and one attention head
#   computed by hand;
# - multi-head attention, the feed-forward block, residual connections and LayerNorm:
#   the whole encoder layer, and why it divides by $\sqrt{d_k}$;
# - the padding mask and position embeddings, and what goes wrong without them;
# - to count an encoder's parameters and FLOPs per token, and to measure how its cost
#   grows with the length of the text;
# - to look at real attention maps, and why they are not explanations.

# %% tags=["nbval-ignore-output"]
# Setup: on Colab, fetch the course and install what Colab lacks (nothing it has is upgraded).
import os
import subprocess
import sys

COURSE_REPO = os.environ.get("BIGMODEL_COURSE_REPO", "https://github.com/bigmodel-course/bigmodel-course")
if "google.colab" in sys.modules and not os.path.isdir("/content/bigmodel-course"):
    subprocess.run(["git", "clone", "--depth", "1", COURSE_REPO, "/content/bigmodel-course"], check=True)
    subprocess.run([sys.executable, "/content/bigmodel-course/tools/colab_install.py"], check=True)
    sys.path.insert(0, "/content/bigmodel-course")

import bigmodel_lib as bml

device = bml.setup(seed=0, threads=2)

# %% tags=["nbval-ignore-output"]
import math
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from bigmodel_lib.checks import CheckFailed
from bigmodel_lib.economics import transformer_params
from bigmodel_lib.finetune import CPU_DEFAULTS
from bigmodel_lib.models import load_pretrained_classifier, minilm_state_dict, quiet_transformers
from bigmodel_lib.news import load_news
from bigmodel_lib.transformer import (
    Encoder, EncoderLayer, MultiHeadSelfAttention, mean_pool, scaled_dot_product_attention,
)

# The packaged MiniLM offline (default profile); bert-base-uncased from the hub on a GPU.
MODEL_NAME = bml.pick(default="minilm", gpu="bert-base-uncased")
print(f"model {MODEL_NAME!r}, timings on {device.type}, {torch.get_num_threads()} CPU threads")

# %% [markdown]
# ## 1. Attention is a soft dictionary look-up
#
# A Python dictionary answers a query by finding the one key that *equals* it and
# returning that key's value. **Attention** (注意力机制) answers a query by comparing it
# with *every* key, turning the similarities into weights that sum to one, and returning
# the weighted mix of all the values. Nothing is "found" or "missed": close keys get a
# large share, far keys a small one, and the answer is smooth in the query, so gradients
# flow through it.
#
# Picture it with four keys in two dimensions. The query points mostly towards
# "sports", a little towards "business":

# %%
keys = torch.tensor([[2.0, 0.2], [0.3, 2.0], [-1.8, 0.6], [-0.4, -2.0]])
key_names = ["sports", "business", "world", "sci/tech"]
query = torch.tensor([1.6, 1.0])
weights_toy = torch.softmax(keys @ query, dim=0)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
for k, (vec, name) in enumerate(zip(keys, key_names, strict=True)):
    ax1.annotate("", xy=vec.tolist(), xytext=(0, 0), arrowprops=dict(arrowstyle="->", color=f"C{k}", lw=2))
    ax1.text(*(vec * 1.12).tolist(), f"key: {name}", color=f"C{k}", ha="center")
ax1.annotate("", xy=query.tolist(), xytext=(0, 0), arrowprops=dict(arrowstyle="->", color="k", lw=3))
ax1.text(*(query * 1.15).tolist(), "query", ha="center", weight="bold")
ax1.set(xlim=(-2.6, 2.8), ylim=(-2.6, 2.6), aspect="equal", xlabel="dimension 1", ylabel="dimension 2",
        title="Compare the query with every key")
ax2.bar(key_names, weights_toy, color=[f"C{k}" for k in range(4)])
ax2.set(ylim=(0, 1), ylabel="weight = softmax(query · key)",
        title="Weights: how much of each value to take")
fig.tight_layout()
plt.show()
print("weights:", [round(w, 3) for w in weights_toy.tolist()], " sum:", round(weights_toy.sum().item(), 6))

# %% [markdown]
# The answer is $\sum_j w_j \, v_j$: mostly the "sports" value, some "business", almost
# nothing of the others. In **self-attention** (自注意力) the queries, keys and values
# all come from the same sentence: every word piece asks a question of every other word
# piece (and of itself), and replaces its own vector by the answer. After attention,
# "bank" in "river bank" and in "bank shares" are different vectors.
#
# ## 2. The formula
#
# Stack the $n$ token vectors of a text as the rows of $X \in \mathbb{R}^{n \times d}$
# ($d$ = 384 for MiniLM). Three learned matrices $W^Q, W^K \in \mathbb{R}^{d \times d_k}$
# and $W^V \in \mathbb{R}^{d \times d_v}$ turn every token into a query, a key and a value:
#
# $$Q = X W^Q, \qquad K = X W^K, \qquad V = X W^V .$$
#
# **Scaled dot-product attention** (缩放点积注意力) is then
#
# $$\operatorname{Attention}(Q, K, V) = \operatorname{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V ,$$
#
# where $QK^\top \in \mathbb{R}^{n \times n}$ holds every query–key dot product (row
# $i$: how well token $i$'s query matches each key), $\sqrt{d_k}$ keeps those scores in
# a range where softmax still has a gradient (section 5), the softmax acts on each row
# (so row $i$ is a set of weights $A_{ij} \ge 0$ with $\sum_j A_{ij} = 1$), and
# multiplying by $V$ mixes the value vectors with those weights. The output has one
# row of size $d_v$ per token. The library's version is six lines (plus input checks):
#
# ```python
# scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
# if mask is not None:
#     scores = scores.masked_fill(~mask, float("-inf"))   # section 6
# weights = torch.softmax(scores, dim=-1)
# return weights @ v, weights
# ```

# %%
torch.manual_seed(0)
q, k, v = torch.randn(2, 12, 7, 32), torch.randn(2, 12, 9, 32), torch.randn(2, 12, 9, 16)
out, attn = scaled_dot_product_attention(q, k, v)
print("output", tuple(out.shape), " weights", tuple(attn.shape))
bml.check(out, F.scaled_dot_product_attention(q, k, v), "ours vs torch's scaled_dot_product_attention",
          rtol=0, atol=1e-6)
bml.check(attn.sum(-1), torch.ones(2, 12, 7), "every row of weights sums to 1", rtol=0, atol=1e-6)

# %% [markdown]
# ## 3. One head by hand, on three tokens
#
# Take a three-token "sentence", *stocks fall sharply*, with made-up vectors of $d = 4$
# numbers, and a head with $d_k = d_v = 2$. Every step of the formula, printed:

# %%
X = torch.tensor([[1.0, 0.0, 1.0, 0.0],    # stocks
                  [0.0, 2.0, 0.0, 1.0],    # fall
                  [1.0, 1.0, 0.0, 0.0]])   # sharply
W_Q = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
W_K = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
W_V = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
tokens = ["stocks", "fall", "sharply"]

Q, K, V = X @ W_Q, X @ W_K, X @ W_V
scores = Q @ K.T / math.sqrt(2)
A = torch.softmax(scores, dim=1)
by_hand = A @ V
for name, value in [("Q = X W^Q", Q), ("K = X W^K", K), ("V = X W^V", V),
                    ("scores = Q K^T / sqrt(2)", scores), ("A = softmax(scores) by row", A),
                    ("output = A V", by_hand)]:
    print(f"{name}:\n{np.round(value.numpy(), 3)}\n")

# %% [markdown]
# Read row 2 of $A$: *fall* puts its largest weight on *stocks*, whose key matches its
# query best, and its output row is mostly *stocks*'s value. Each output row is a convex
# mix of the rows of $V$. The library gives the same numbers:

# %%
bml.check(scaled_dot_product_attention(Q, K, V)[0], by_hand, "library vs by hand, 3-token toy")
bml.check(A.sum(dim=1), torch.ones(3), "each row of A sums to 1")

# %% [markdown]
# ## 4. Many heads
#
# One head produces one set of weights per token: one notion of "relevant". **Multi-head
# attention** (多头注意力) runs $h$ heads side by side, each with its own
# $W_i^Q, W_i^K, W_i^V \in \mathbb{R}^{d \times d/h}$, concatenates their outputs and mixes
# them with one more matrix $W^O \in \mathbb{R}^{d \times d}$:
#
# $$\operatorname{head}_i = \operatorname{Attention}(X W_i^Q, X W_i^K, X W_i^V), \qquad
# \operatorname{MultiHead}(X) = [\operatorname{head}_1, \dots, \operatorname{head}_h]\, W^O .$$
#
# MiniLM has $h = 12$ heads of $d/h = 32$ dimensions each. Splitting $d$ among the heads
# keeps the cost of all heads together equal to one big head. In code the $h$ query
# matrices sit side by side in one $d \times d$ linear layer `w_q`, and a reshape
# `(B, n, d)` → `(B, h, n, d/h)` hands each head its slice.
#
# Now the real model. We load MiniLM twice: once as `transformers`' `BertModel` (the
# reference), once into our own `Encoder`, from the same hash-checked `model.safetensors`.

# %% tags=["nbval-ignore-output"]
if MODEL_NAME == "minilm":
    classifier, tokenizer = load_pretrained_classifier("minilm", num_labels=2)  # sha256-checked
    reference = classifier.encoder.eval()  # transformers' BertModel, without the new head
    state_dict = minilm_state_dict()  # the same checked file, as {name: tensor}
else:
    from transformers import AutoTokenizer, BertModel

    with quiet_transformers():
        reference = BertModel.from_pretrained(MODEL_NAME, add_pooling_layer=False).eval()
        tokenizer = AutoTokenizer.from_pretrained(MODEL_NAME)
    state_dict = reference.state_dict()
config = reference.config
ours = Encoder.from_bert_state_dict(state_dict, config)
print(f"{MODEL_NAME}: {config.num_hidden_layers} layers, d = {config.hidden_size}, "
      f"{config.num_attention_heads} heads, d_ff = {config.intermediate_size}, "
      f"vocabulary {config.vocab_size:,}, {config.max_position_embeddings} positions")
print(ours.layers[0])
print("a few of the", len(state_dict), "names in the checkpoint:", list(state_dict)[:3])

# %% [markdown]
# `from_bert_state_dict` is a renaming: BERT's `encoder.layer.0.attention.self.query.weight`
# becomes our `layers.0.attention.w_q.weight`, and so on for every tensor; a missing name
# is an error that names it. Head 3 of layer 1, by hand from the slices of the weight
# matrices, against the library's multi-head module:

# %%
HEADLINE = "Oil prices rise after storm hits the Gulf"
batch1 = tokenizer([HEADLINE], return_tensors="pt")
with torch.no_grad():
    x0 = ours.embed(batch1["input_ids"])  # (1, n, d): the input of layer 1
    attention = ours.layers[0].attention
    d_head = attention.d_head
    heads = []
    for i in range(attention.n_heads):
        rows = slice(i * d_head, (i + 1) * d_head)  # head i's block of W^Q, W^K, W^V
        q_i = x0 @ attention.w_q.weight[rows].T + attention.w_q.bias[rows]
        k_i = x0 @ attention.w_k.weight[rows].T + attention.w_k.bias[rows]
        v_i = x0 @ attention.w_v.weight[rows].T + attention.w_v.bias[rows]
        heads.append(torch.softmax(q_i @ k_i.transpose(1, 2) / math.sqrt(d_head), dim=-1) @ v_i)
    multi_by_hand = attention.w_o(torch.cat(heads, dim=-1))
    multi_library, _ = attention(x0)
print(f"{attention.n_heads} heads of {d_head} dimensions, each output {tuple(heads[0].shape)}")
bml.check(bool(torch.allclose(multi_by_hand, multi_library, atol=1e-5)), True,
          "multi-head attention: 12 heads by hand == MultiHeadSelfAttention")

# %% [markdown]
# ## 5. Why divide by $\sqrt{d_k}$
#
# If the entries of a query and a key are independent with mean 0 and variance 1, their
# dot product $q \cdot k = \sum_{m=1}^{d_k} q_m k_m$ has variance $d_k$: with $d_k = 384$
# the scores spread over $\pm 20$ and more. Softmax of such scores puts almost all
# weight on the largest one (it **saturates**), and its gradient
# $\partial p_i / \partial s_j = p_i(\delta_{ij} - p_j)$ is then almost zero everywhere:
# the head stops learning. Dividing by $\sqrt{d_k}$ brings the variance back to 1 for
# every $d_k$. Measured on random vectors, 16 keys per query:

# %%
gen = torch.Generator().manual_seed(0)
dims = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
curves = {"unscaled: q·k": ([], []), "scaled: q·k / √d_k": ([], [])}
for d_k in dims:
    qs, ks = torch.randn(1000, 1, d_k, generator=gen), torch.randn(1000, 16, d_k, generator=gen)
    raw = (qs * ks).sum(-1)
    for (top, grad), s in zip(curves.values(), [raw, raw / math.sqrt(d_k)], strict=True):
        p = torch.softmax(s, dim=-1)
        jacobian = torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2)
        top.append(p.max(-1).values.mean().item())
        grad.append(jacobian.norm(dim=(-2, -1)).mean().item())

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
for name, (top, grad) in curves.items():
    ax1.semilogx(dims, top, "o-", base=2, label=name)
    ax2.semilogx(dims, grad, "o-", base=2, label=name)
ax1.set(title="Softmax saturates without the scaling", xlabel="head dimension $d_k$",
        ylabel="mean largest weight (of 16)", ylim=(0, 1.05))
ax2.set(title="...and its gradient vanishes", xlabel="head dimension $d_k$",
        ylabel="mean norm of the softmax Jacobian")
ax1.legend()
ax2.legend()
fig.tight_layout()
plt.show()
print(f"d_k = 384: standard deviation of q·k {(torch.randn(10_000, 384, generator=gen) * torch.randn(10_000, 384, generator=gen)).sum(-1).std():.1f}"
      f" (√384 = {math.sqrt(384):.1f})")

# %% [markdown]
# Unscaled, the largest weight heads for 1 and the Jacobian for 0 as $d_k$ grows;
# scaled, both stay where they were at $d_k = 2$, whatever the head size.
#
# ## 6. The padding mask
#
# A batch is a rectangle: shorter texts are filled with `[PAD]` up to the longest one
# (chapter 07). Without care, every real token would also attend to the padding and
# take some of its value into its own vector. The **attention mask** (注意力掩码) sets the
# score of every padding key to $-\infty$ before the softmax, so its weight is exactly
# 0: $A_{ij} = 0$ whenever token $j$ is padding. Padding *queries* still compute
# something, but nothing reads it: the next layer's mask ignores them too, and mean
# pooling leaves them out (section 12).

# %%
short = "Red Sox win"
padded = tokenizer([short], padding="max_length", max_length=10, return_tensors="pt")
pieces = tokenizer.convert_ids_to_tokens(padded["input_ids"][0])
with torch.no_grad():
    x_pad = ours.embed(padded["input_ids"])
    _, w_without = ours.layers[0].attention(x_pad)
    _, w_with = ours.layers[0].attention(x_pad, padded["attention_mask"])
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
for ax, w, title in zip(axes, [w_without, w_with], ["without the mask", "with the mask"], strict=True):
    ax.imshow(w[0, 0].numpy(), cmap="viridis", vmin=0, vmax=w[0, 0].max().item())
    ax.set_xticks(range(len(pieces)), pieces, rotation=90)
    ax.set_yticks(range(len(pieces)), pieces)
    ax.set(title=f"Layer 1, head 1, {title}", xlabel="key (attended to)", ylabel="query")
fig.tight_layout()
plt.show()
pad = padded["attention_mask"][0] == 0
print(f"share of attention on [PAD], real tokens' rows: without mask "
      f"{w_without[0, :, ~pad][..., pad].sum(-1).mean():.1%}, with mask {w_with[0, :, ~pad][..., pad].sum(-1).mean():.1%}")
bml.check(w_with[0, :, :, pad].max().item(), 0.0, "weight on padding keys with the mask")

# %% [markdown]
# ## 7. Positions
#
# Attention compares every token with every other by content alone: shuffle the tokens
# and every output is shuffled the same way, but otherwise unchanged. Without help the
# encoder would read *dog bites man* and *man bites dog* as the same bag of words.
# Checked on MiniLM's first layer, fed word vectors without positions:

# %%
ids = tokenizer(["man bites dog"], return_tensors="pt")["input_ids"]
perm = torch.tensor([0, 3, 2, 1, 4])  # [CLS] dog bites man [SEP]
with torch.no_grad():
    words_only = ours.embedding_norm(ours.word_embeddings(ids))  # no position vectors
    y, _ = ours.layers[0](words_only)
    y_perm, _ = ours.layers[0](words_only[:, perm])
print(tokenizer.convert_ids_to_tokens(ids[0]), "->", tokenizer.convert_ids_to_tokens(ids[0, perm]))
bml.check(bool(torch.allclose(y_perm, y[:, perm], atol=1e-5)), True,
          "without positions, shuffling the input only shuffles the output")

# %% [markdown]
# BERT's cure is a table of **position embeddings** (位置编码), one learned vector per
# position $0, \dots, 511$, added to each word piece's vector before the first layer
# (plus a *token-type* vector saying whether a token belongs to the first or second of
# two texts):
#
# $$X^{(0)} = \operatorname{LayerNorm}\big(E_{\text{word}}[\text{id}_t] + E_{\text{pos}}[t] + E_{\text{type}}[\text{type}_t]\big), \qquad t = 0, \dots, n-1 .$$
#
# The original Transformer used fixed sines and cosines instead; both work. The learned
# table has found a smooth structure of its own: nearby positions have similar vectors.
# That table also fixes the longest input: 512 tokens.

# %%
P = ours.position_embeddings.weight[:128].detach()
P = P / P.norm(dim=1, keepdim=True)
fig, ax = plt.subplots(figsize=(5, 4.2))
im = ax.imshow((P @ P.T).numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
fig.colorbar(im, ax=ax, label="cosine similarity")
ax.set(title="Learned position vectors 0–127", xlabel="position", ylabel="position")
plt.show()

# %% [markdown]
# ## 8. The feed-forward block and the residual connections
#
# After attention has mixed information *between* tokens, a **feed-forward network**
# (前馈网络) transforms every token *on its own*, with the same two-layer perceptron
# (chapter 05) at every position:
#
# $$\operatorname{FFN}(x) = W_2 \,\operatorname{GELU}(W_1 x + b_1) + b_2, \qquad
# W_1 \in \mathbb{R}^{d_{ff} \times d},\ W_2 \in \mathbb{R}^{d \times d_{ff}},$$
#
# with $d_{ff} = 4d$ = 1,536 for MiniLM and GELU (a smooth ReLU,
# $\operatorname{GELU}(z) = z\,\Phi(z)$ with $\Phi$ the standard normal distribution
# function). Two thirds of each layer's parameters live here.
#
# Each of the two blocks is wrapped in a **residual connection** (残差连接): the block
# computes a *correction* that is added to its input, $x + F(x)$, rather than a
# replacement. The sum gives gradients a direct path from the loss to the lowest layer,
# which is what lets dozens of layers train (He et al. 2016). A whole BERT layer, with
# $X$ its $n \times d$ input:
#
# $$H = \operatorname{LayerNorm}\big(X + \operatorname{MultiHead}(X)\big), \qquad
# \text{output} = \operatorname{LayerNorm}\big(H + \operatorname{FFN}(H)\big).$$
#
# The library's `EncoderLayer.forward` is those two lines. Written out on MiniLM's
# first layer, against the library:

# %%
layer = ours.layers[0]
with torch.no_grad():
    H = layer.attention_norm(x0 + layer.attention(x0)[0])
    ffn = layer.feed_forward.w_2(F.gelu(layer.feed_forward.w_1(H)))
    by_hand = layer.output_norm(H + ffn)
    by_library, _ = layer(x0)
bml.check(bool(torch.allclose(by_hand, by_library, atol=1e-5)), True, "one encoder layer by hand == EncoderLayer")
bml.check(bool(torch.allclose(layer.feed_forward(H)[0, 3], layer.feed_forward(H[0, 3]), atol=1e-6)), True,
          "the FFN treats each position on its own")

# %% [markdown]
# How much does each layer change the token vectors? The cosine similarity between a
# layer's input and output, averaged over the word pieces of a few headlines: each layer
# rewrites the vectors substantially but keeps a good part of them, the residual path
# at work.

# %%
HEADLINES = [
    "Oil prices rise after storm hits the Gulf",
    "Red Sox beat Yankees to reach the World Series",
    "Intel unveils faster chip for laptops",
    "Stocks fall as investors worry about interest rates",
    "UN envoy meets rebels in Sudan peace talks",
]
batch5 = tokenizer(HEADLINES, padding=True, return_tensors="pt")
keep = batch5["attention_mask"].bool()
similarity = []
with torch.no_grad():
    x = ours.embed(batch5["input_ids"])
    for layer in ours.layers:
        y, _ = layer(x, batch5["attention_mask"])
        similarity.append(F.cosine_similarity(x, y, dim=-1)[keep].mean().item())
        x = y
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(range(1, len(similarity) + 1), similarity)
ax.set(title="How much of each token vector a layer keeps", xlabel="layer",
       ylabel="cos(input, output)", ylim=(0, 1))
plt.show()

# %% [markdown]
# ## 9. LayerNorm
#
# **Layer normalization** (层归一化) rescales each token's vector to mean 0 and variance 1
# over its $d$ features, then applies a learned scale $\gamma$ and shift $\beta$:
#
# $$\operatorname{LayerNorm}(x) = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta, \qquad
# \mu = \frac1d \sum_{m=1}^d x_m,\quad \sigma^2 = \frac1d \sum_{m=1}^d (x_m - \mu)^2 ,$$
#
# with $\epsilon = 10^{-12}$ in BERT, only there to avoid a division by zero. Unlike
# batch normalization it uses no statistics of other texts in the batch, so a text gets
# the same vector in any batch, of any size. BERT normalizes *after* each residual sum
# ("post-LN", as the original Transformer); GPT-2 and most newer models normalize the
# block's input instead ("pre-LN", $x + F(\operatorname{LayerNorm}(x))$), which trains
# more stably without warm-up (Xiong et al. 2020). To load BERT's weights we must
# follow BERT.

# %%
def layer_norm(x, gamma, beta, eps):
    mu = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, unbiased=False, keepdim=True)  # 1/d, not 1/(d-1)
    return gamma * (x - mu) / torch.sqrt(var + eps) + beta


with torch.no_grad():
    raw = ours.word_embeddings(batch1["input_ids"]) + ours.position_embeddings.weight[:batch1["input_ids"].shape[1]]
    norm = ours.embedding_norm
    bml.check(bool(torch.allclose(layer_norm(raw, norm.weight, norm.bias, norm.eps), norm(raw), atol=1e-5)), True,
              "LayerNorm by hand == torch.nn.LayerNorm")
    plain = layer_norm(raw, 1.0, 0.0, norm.eps)
print(f"before: token means {raw.mean(-1)[0, :3].numpy().round(3)}, std {raw.std(-1, unbiased=False)[0, :3].numpy().round(3)}")
print(f"after (γ=1, β=0): largest |mean| {plain.mean(-1).abs().max():.3f}, "
      f"std {plain.std(-1, unbiased=False)[0, :3].numpy().round(3)}")

# %% [markdown]
# ## 10. The whole encoder, on real weights
#
# Everything together: embeddings and LayerNorm, then the 6 layers, each
# $H = \operatorname{LN}(X + \operatorname{MultiHead}(X))$,
# $X' = \operatorname{LN}(H + \operatorname{FFN}(H))$. The test of the whole
# construction: real AG News headlines, padded into one batch, through our `Encoder`
# and through `transformers`' `BertModel`, both holding the same weights. We compare
# every number of `last_hidden_state` at the real tokens, and the mean-pooled sentence
# vectors that chapter 08 classified.
#
# The **sentence embedding** (句向量) is the mean of a text's real token vectors,
# $\bar h = \sum_t m_t h_t / \sum_t m_t$ with $m_t = 1$ for a real token and 0 for
# padding (`mean_pool`).

# %% tags=["nbval-ignore-output"]
news = load_news("test", max_rows=16)
batch = tokenizer(news.texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
real = batch["attention_mask"].bool()
with torch.no_grad():
    theirs = reference(**batch).last_hidden_state
    mine = ours(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]).last_hidden_state
    pooled_theirs = (theirs * batch["attention_mask"].unsqueeze(-1)).sum(1) / batch["attention_mask"].sum(1, keepdim=True)
    pooled_mine = mean_pool(mine, batch["attention_mask"])
lengths = batch["attention_mask"].sum(1)
print(f"{len(news.texts)} headlines, {lengths.min()}–{lengths.max()} word pieces, "
      f"{(~real).float().mean():.0%} of the batch is padding")
print(f"max |ours - BertModel|, real tokens: {(mine - theirs)[real].abs().max():.2e}")
print(f"max |ours - BertModel|, sentence vectors: {(pooled_mine - pooled_theirs).abs().max():.2e}")
bml.check(mine[real], theirs[real], "last_hidden_state, from scratch vs transformers", rtol=0, atol=1e-4)
bml.check(pooled_mine, pooled_theirs, "mean-pooled sentence embeddings", rtol=0, atol=1e-4)

# %% [markdown]
# The largest differences (printed above) are a few millionths: float32 rounding, since the two
# implementations add up the same products in different orders. Our code is the
# model.
#
# ## 11. Counting: parameters and FLOPs per token
#
# Chapter 01 counted a transformer's parameters with a formula (`transformer_params`).
# Now we can see where each term lives:

# %%
d, L_layers, V_words = config.hidden_size, config.num_hidden_layers, config.vocab_size
d_ff, n_pos, n_types = config.intermediate_size, config.max_position_embeddings, config.type_vocab_size
parts = {
    "word embeddings  V·d": V_words * d,
    "position embeddings  512·d": n_pos * d,
    "token-type embeddings  2·d": n_types * d,
    "embedding LayerNorm  2·d": 2 * d,
    "attention W^Q,W^K,W^V,W^O + biases  L·(4d² + 4d)": L_layers * (4 * d * d + 4 * d),
    "feed-forward W_1, W_2 + biases  L·(2·d·d_ff + d_ff + d)": L_layers * (2 * d * d_ff + d_ff + d),
    "two LayerNorms per layer  L·4d": L_layers * 4 * d,
}
table = pd.DataFrame({"parameters": parts})
table["share"] = (table["parameters"] / table["parameters"].sum()).map("{:.1%}".format)
table.loc["total"] = [table["parameters"].sum(), "100.0%"]
print(table.to_string(formatters={"parameters": "{:,}".format}))
formula = transformer_params(L_layers, d, V_words, n_pos, n_heads=config.num_attention_heads, d_ff=d_ff,
                             n_token_types=n_types)
bml.check(sum(p.numel() for p in ours.parameters()), formula, "our encoder's parameters vs chapter 01's formula")
bml.check(formula, int(table.loc["total", "parameters"]), "the table adds up to the formula")

# %% [markdown]
# Half of MiniLM is its word-piece table, which costs no arithmetic (a look-up), and
# the 6 layers hold the other half. The "22.7 million" of chapter 08 also counts BERT's
# *pooler* (a $d \times d$ layer on `[CLS]`, $d^2 + d$ = 147,840 numbers) that the file
# carries but mean pooling never uses.
#
# **FLOPs per token.** A matrix–vector product with an $a \times b$ matrix costs $2ab$
# FLOPs (a multiply and an add per weight), so each token passing through the layers'
# weights costs about $2 N_{\text{layers}}$ FLOPs, whatever the length $n$ of its text.
# Attention adds the scores $QK^\top$ and the mix $AV$: $2nd$ FLOPs each per token per
# layer, so $4nd$, which *grows with the length*. For a whole text of $n$ tokens, per
# forward pass:
#
# $$C(n) \approx n \cdot 2N_{\text{layers}} + L \cdot 4 n^2 d .$$
#
# The first term is linear in $n$, the second quadratic. With $d_{ff} = 4d$,
# $N_{\text{layers}} \approx 12 L d^2$, so attention's share per token is
# $4nd / (24d^2 + 4nd)$: small while $n \ll 6d$.

# %%
n_layer_params = L_layers * (4 * d * d + 4 * d + 2 * d * d_ff + d_ff + d + 4 * d)


def forward_flops_per_token(n):
    """Forward FLOPs per token of an n-token text: the weights (2 per parameter) and attention (4·n·d per layer)."""
    return 2 * n_layer_params, L_layers * 4 * n * d


rows = []
for n in [16, 48, 128, 512]:
    linear, attn_flops = forward_flops_per_token(n)
    rows.append({"tokens n": n, "weights (MFLOP/token)": linear / 1e6, "attention (MFLOP/token)": attn_flops / 1e6,
                 "attention share": f"{attn_flops / (linear + attn_flops):.1%}"})
print(pd.DataFrame(rows).to_string(index=False, float_format="{:.1f}".format))

# %% [markdown]
# That is where chapter 08's choice of 48 training tokens pays: per *text*, cost is
# (tokens) × (cost per token), and each token cut saves its full share of the weights'
# arithmetic; the $n^2$ term matters more for long texts. The formula counts
# multiply-adds; time also depends on memory traffic (softmax over the $h \cdot n^2$
# scores, reshapes) and on how well small matrices use the CPU. So we measure: a batch
# of 8 texts at lengths from 16 to 512 tokens, best of two runs after a warm-up. On a
# CPU we time with one thread: the hand-offs between threads would blur the short
# lengths, and one thread also reads truer on a machine that other programs share.

# %% tags=["nbval-ignore-output"]
def time_batch(model, n, batch_size=8, repeats=2):
    ids_n = torch.randint(1_000, config.vocab_size, (batch_size, n), generator=torch.Generator().manual_seed(n))
    ids_n = ids_n.to(device)
    best = float("inf")
    with torch.inference_mode():
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(ids_n)
            if device.type == "cuda":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - start)
    return best


LENGTHS = [16, 32, 48, 64, 128, 256, 512]
threads = torch.get_num_threads()
if device.type == "cpu":
    torch.set_num_threads(1)
timed = ours.to(device)
time_batch(timed, 64)  # warm-up: first calls allocate memory and pick kernels
seconds = {n: time_batch(timed, n) for n in LENGTHS}
ours.to("cpu")
torch.set_num_threads(threads)
per_token = {n: s / (8 * n) for n, s in seconds.items()}
print(pd.DataFrame({"tokens n": LENGTHS, "ms per batch of 8": [1e3 * seconds[n] for n in LENGTHS],
                    "µs per token": [1e6 * per_token[n] for n in LENGTHS]}).to_string(index=False,
                                                                                float_format="{:.1f}".format))
recipe = CPU_DEFAULTS.max_length
print(f"\nchapter 08's recipe trains on {recipe} tokens: a batch at 128 tokens takes "
      f"{seconds[128] / seconds[recipe]:.1f}× as long as at {recipe} "
      f"(FLOP formula: {128 * sum(forward_flops_per_token(128)) / (recipe * sum(forward_flops_per_token(recipe))):.1f}×)")
weights_bytes = 8 * config.num_attention_heads * 512**2 * 4
print(f"attention weights of one layer for this batch at n = 512: {weights_bytes / 1e6:.0f} MB in float32")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
ns = np.array(LENGTHS)
t = np.array([seconds[n] for n in LENGTHS])
ax1.loglog(ns, t, "o-", base=2, label="measured")
ax1.loglog(ns, t[2] * ns / ns[2], "--", base=2, label="∝ n (through n=48)")
ax1.loglog(ns, t[2] * (ns / ns[2]) ** 2, ":", base=2, label="∝ n² (through n=48)")
ax1.set(title=f"{MODEL_NAME}: time per batch of 8", xlabel="tokens per text n", ylabel="seconds")
ax1.legend()
model_cost = np.array([sum(forward_flops_per_token(n)) for n in LENGTHS])
ax2.semilogx(ns, 1e6 * t / (8 * ns), "o-", base=2, label="measured")
ax2.semilogx(ns, 1e6 * per_token[48] * model_cost / model_cost[2], "--", base=2,
             label="FLOP formula (scaled to n=48)")
ax2.set(title="Time per token", xlabel="tokens per text n", ylabel="µs per token", ylim=(0, None))
ax2.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the left panel against the two guide lines: up to a hundred-odd tokens the time
# per batch follows the $\propto n$ line, as the formula says when the weights dominate:
# every token costs the same. Beyond that it bends upwards, and the right panel shows
# time per token rising faster than the FLOP formula predicts: the $n^2$ part is not
# only the multiply-adds of $QK^\top$ and $AV$ but also the softmax, the mask and the
# memory traffic over $h \cdot n^2$ scores per layer, which a CPU does far more slowly
# than matrix products. (On a loaded machine these numbers are noisy; the trend is
# what to read.) Memory grows the same way: the attention weights are
# $B \cdot h \cdot n^2$ numbers per layer (printed above for $n = 512$), which is why
# long-context models compute attention in tiles without storing them
# (FlashAttention, Dao et al. 2022).
#
# ## 12. Explore: attention maps
#
# Pick a headline, a layer and a head: the heatmap shows that head's weights $A_{ij}$,
# one row per query word piece, one column per key. Look for heads that attend to the
# previous or the next token (a bright off-diagonal), heads that gather on `[SEP]` or
# `[CLS]` (a bright column: a head with "nothing to do" parks its weight there), and in
# higher layers heads that link related words.

# %%
maps = {}  # headline -> (word pieces, one (heads, n, n) array per layer), computed once
with torch.no_grad():
    for text in HEADLINES:
        enc = tokenizer([text], return_tensors="pt")
        maps[text] = (tokenizer.convert_ids_to_tokens(enc["input_ids"][0]),
                      [a[0].numpy() for a in ours(enc["input_ids"]).attentions])


# %% tags=["nbval-ignore-output"]
def draw_attention(headline=HEADLINES[0], layer=1, head=1):
    words, per_layer = maps[headline]
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    im = ax.imshow(per_layer[layer - 1][head - 1], cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(words)), words, rotation=90)
    ax.set_yticks(range(len(words)), words)
    ax.set(title=f"Layer {layer}, head {head}", xlabel="key (attended to)", ylabel="query")
    fig.colorbar(im, ax=ax, label="attention weight")
    fig.tight_layout()
    plt.show()


widgets.interact(draw_attention,
                 headline=widgets.Dropdown(options=HEADLINES, description="headline",
                                           layout=widgets.Layout(width="90%")),
                 layer=widgets.IntSlider(value=1, min=1, max=config.num_hidden_layers, description="layer"),
                 head=widgets.IntSlider(value=1, min=1, max=config.num_attention_heads, description="head"));

# %% [markdown]
# ## 13. Pitfalls
#
# **Forgetting the padding mask.** Run the encoder on a padded batch without its
# attention mask and every real token also attends to `[PAD]`: the same headline gets
# a different sentence vector depending on how much padding its batch needed. Shown
# failing, then fixed:

# %% tags=["nbval-ignore-output"]
alone = tokenizer([short], return_tensors="pt")
with torch.no_grad():
    v_alone = mean_pool(ours(alone["input_ids"]).last_hidden_state, alone["attention_mask"])
    h_no_mask = ours(padded["input_ids"]).last_hidden_state  # mask forgotten
    h_mask = ours(padded["input_ids"], padded["attention_mask"]).last_hidden_state
print("wrong: the padded batch without its attention mask")
try:
    bml.check(mean_pool(h_no_mask, padded["attention_mask"]), v_alone, "same headline, padded to 10",
              rtol=0, atol=1e-4)
except CheckFailed:
    print("(raised, because this notebook is running as a test)")
print("right: with the attention mask")
bml.check(mean_pool(h_mask, padded["attention_mask"]), v_alone, "same headline, padded to 10", rtol=0, atol=1e-4)

# %% [markdown]
# **A mask of the wrong shape.** The tokenizer's mask is `(batch, n)`; attention scores
# are `(batch, heads, n, n)`. Passed as it is, broadcasting would line the batch axis up
# with the *query* axis: a silent wrong answer whenever the batch size equals the
# length, an obscure error otherwise. `MultiHeadSelfAttention` reshapes it to
# `(batch, 1, 1, n)` for you; `scaled_dot_product_attention` refuses what does not fit:

# %%
scores_shape = (2, 12, 5, 5)
q2 = torch.randn(scores_shape[:-1] + (32,))
try:
    scaled_dot_product_attention(q2, q2, q2, mask=torch.ones(2, 5, dtype=torch.bool))
except ValueError as err:
    print("ValueError:", err)
out2, _ = scaled_dot_product_attention(q2, q2, q2, mask=torch.ones(2, 5, dtype=torch.bool)[:, None, None, :])
print("with mask[:, None, None, :]:", tuple(out2.shape))

# %% [markdown]
# **Reading attention weights as explanations.** It is tempting to say "the model
# classified this as sports *because* it attended to *Sox*". Attention weights say how
# vectors were mixed, not which words changed the prediction: the value vectors differ
# in size, later layers re-mix everything, and different weights can give the same
# output (Jain & Wallace 2019; Wiegreffe & Pinter 2019). Measured on our headlines, a
# large share of all attention lands on `[CLS]` and `[SEP]`, tokens that carry no
# content (Clark et al. 2019 found the same in BERT):

# %%
special = {"[CLS]", "[SEP]"}
share = np.zeros(config.num_hidden_layers)
for words, per_layer in maps.values():
    cols = [i for i, w in enumerate(words) if w in special]
    share += np.array([a[:, :, cols].sum(-1).mean() for a in per_layer]) / len(maps)
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(range(1, len(share) + 1), share, label="[CLS] + [SEP]")
ax.axhline(2 / np.mean([len(w) for w, _ in maps.values()]), color="C3", ls="--", label="if spread evenly")
ax.set(title="Share of attention on [CLS] and [SEP]", xlabel="layer", ylabel="mean share of weight", ylim=(0, 1))
ax.legend()
plt.show()

# %% [markdown]
# Chapter 11 measures what a prediction depends on with methods that are built for it
# (integrated gradients), and checks them.
#
# ## 14. On a GPU
#
# With `BIGMODEL_PROFILE=gpu` (Colab with a GPU), this notebook loads `bert-base-uncased`
# from the hub (12 layers, $d = 768$, 12 heads: about 109 million parameters) into the
# same `Encoder` and runs the same checks; the timings run on the GPU, where the
# quadratic term shows later, because the GPU does the small matrix products of short
# texts at a fraction of its speed.
#
# ## Exercises
#
# **Exercise 1.** Count the parameters of `bert-base-uncased` (12 layers, $d = 768$,
# $d_{ff} = 3072$, $V = 30{,}522$, 512 positions, 2 token types, no pooler) from the
# terms of section 11, and check your number against `transformer_params`.
#
# **Exercise 2.** A decoder such as GPT may not look ahead: token $i$ attends only to
# tokens $j \le i$. Build that *causal* mask for $n = 6$ as a boolean matrix, run
# `scaled_dot_product_attention` with it on random `q, k, v`, check against
# `F.scaled_dot_product_attention(q, k, v, is_causal=True)`, and check that the first
# token's output is exactly its own value vector.
#
# **Exercise 3.** At which length $n$ does attention's arithmetic per token equal the
# weights' arithmetic in MiniLM (use `forward_flops_per_token`)? Compare with the
# estimate $n = 6d$.

# %% [markdown]
# ### Solutions
# Expand the hidden cells to see them.

# %% jupyter={"source_hidden": true}
# Exercise 1: embeddings (V + 512 + 2)·d + 2d, per layer 4d² + 4d + 2·d·d_ff + d_ff + d + 4d.
d_b, f_b, L_b = 768, 3072, 12
by_hand_bert = (30_522 + 512 + 2) * d_b + 2 * d_b + L_b * (4 * d_b * d_b + 4 * d_b + 2 * d_b * f_b + f_b + d_b + 4 * d_b)
print(f"bert-base-uncased without pooler: {by_hand_bert:,} parameters")
bml.check(by_hand_bert, transformer_params(12, 768, 30_522, 512, d_ff=3072, n_token_types=2), "BERT-base by hand")

# %% jupyter={"source_hidden": true}
# Exercise 2: the lower triangle (diagonal included) may attend.
torch.manual_seed(1)
qc, kc, vc = torch.randn(3, 2, 6, 8).unbind(0)
causal = torch.ones(6, 6, dtype=torch.bool).tril()
out_c, w_c = scaled_dot_product_attention(qc, kc, vc, causal)
bml.check(out_c, F.scaled_dot_product_attention(qc, kc, vc, is_causal=True), "causal attention vs torch",
          rtol=0, atol=1e-6)
bml.check(out_c[:, 0], vc[:, 0], "the first token sees only itself", rtol=0, atol=1e-6)

# %% jupyter={"source_hidden": true}
# Exercise 3: 2·N_layers = L·4·n·d  →  n = 2·N_layers / (4·L·d); about 6d when d_ff = 4d.
n_equal = 2 * n_layer_params / (4 * L_layers * d)
linear_eq, attn_eq = forward_flops_per_token(n_equal)
print(f"attention equals the weights at n = {n_equal:.0f} tokens (6d = {6 * d}); MiniLM reads at most {n_pos}")
bml.check(attn_eq, linear_eq, "equal arithmetic at that length")

# %% [markdown]
# ## Summary
# - Attention is a soft dictionary look-up: $\operatorname{softmax}(QK^\top/\sqrt{d_k})V$
#   mixes every token's value with weights from query–key similarity; dividing by
#   $\sqrt{d_k}$ keeps the softmax out of saturation.
# - Multi-head attention runs $h$ such heads in $d/h$ dimensions each and mixes them
#   with $W^O$; the FFN then transforms each token alone; each block is a residual
#   correction followed by LayerNorm (post-LN, as BERT).
# - Attention cannot see order: BERT adds learned position vectors (512 of them). It must
#   not see padding: the attention mask sets padding keys' weights to 0, and mean
#   pooling leaves padding out; forgetting either changes the sentence vector.
# - Our from-scratch `Encoder`, loaded with MiniLM's weights, gives `BertModel`'s hidden
#   states to a few millionths, and its parameter count is chapter 01's formula: half
#   word-piece table, half layers.
# - Per token, the weights cost about $2N$ FLOPs and attention $4nd$ per layer, so the
#   cost of a text grows like $n$ plus $n^2$: measured, a batch of 128 tokens costs about
#   128/48 times one of 48 (section 11), which is why chapter 08 trains on short texts;
#   at 512 tokens the $n^2$ part costs more than its FLOPs suggest.
# - Attention maps show how vectors were mixed, not why the model decided: much of the
#   weight parks on `[CLS]` and `[SEP]`.
#
# ## Further reading
# - Vaswani, Shazeer, Parmar, Uszkoreit, Jones, Gomez, Kaiser, Polosukhin (2017),
#   *Attention Is All You Need*, NeurIPS 2017, arXiv:1706.03762 [ref:vaswani2017]: the
#   Transformer, scaled dot-product and multi-head attention, sinusoidal positions.
# - Devlin, Chang, Lee, Toutanova (2019), *BERT: Pre-training of Deep Bidirectional
#   Transformers for Language Understanding*, NAACL-HLT 2019, arXiv:1810.04805
#   [ref:devlin2019]: the encoder rebuilt here.
# - Bahdanau, Cho, Bengio (2015), *Neural Machine Translation by Jointly Learning to
#   Align and Translate*, ICLR 2015, arXiv:1409.0473 [ref:bahdanau2015]: attention
#   before Transformers.
# - Wang, Wei, Dong, Bao, Yang, Zhou (2020), *MiniLM: Deep Self-Attention Distillation
#   for Task-Agnostic Compression of Pre-Trained Transformers*, NeurIPS 2020,
#   arXiv:2002.10957 [ref:wang2020]: the model whose weights we loaded.
# - He, Zhang, Ren, Sun (2016), *Deep Residual Learning for Image Recognition*, CVPR 2016,
#   arXiv:1512.03385 [ref:he2016]: residual connections.
# - Ba, Kiros, Hinton (2016), *Layer Normalization*, arXiv:1607.06450 [ref:ba2016].
# - Hendrycks, Gimpel (2016), *Gaussian Error Linear Units (GELUs)*, arXiv:1606.08415
#   [ref:hendrycks2016].
# - Xiong, Yang, He, Zheng, Zheng, Xing, Zhang, Lan, Wang, Liu (2020), *On Layer
#   Normalization in the Transformer Architecture*, ICML 2020, arXiv:2002.04745
#   [ref:xiong2020]: post-LN vs pre-LN.
# - Clark, Khandelwal, Levy, Manning (2019), *What Does BERT Look At? An Analysis of
#   BERT's Attention*, BlackboxNLP 2019, arXiv:1906.04341 [ref:clark2019].
# - Jain, Wallace (2019), *Attention is not Explanation*, NAACL-HLT 2019,
#   arXiv:1902.10186 [ref:jain2019]; Wiegreffe, Pinter (2019), *Attention is not not
#   Explanation*, EMNLP-IJCNLP 2019, arXiv:1908.04626 [ref:wiegreffe2019].
# - Dao, Fu, Ermon, Rudra, Ré (2022), *FlashAttention: Fast and Memory-Efficient Exact
#   Attention with IO-Awareness*, NeurIPS 2022, arXiv:2205.14135 [ref:dao2022].
# - Alammar (2018), *The Illustrated Transformer*, https://jalammar.github.io/illustrated-transformer/,
#   and Rush (2018), *The Annotated Transformer*, https://nlp.seas.harvard.edu/annotated-transformer/:
#   two classic walk-throughs.
#
# Next: chapter 10, training faster and at scale.

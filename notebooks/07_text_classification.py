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
# # 07 · Text classification from scratch: a BiLSTM reads the news
# *中文：从零开始的文本分类：用双向 LSTM 读新闻*
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/bigmodel-course/bigmodel-course/blob/main/notebooks/07_text_classification.ipynb)
#
# A news agency receives thousands of items a day and wants each filed under one of
# four desks: **World, Sports, Business, Sci/Tech** (the classes of AG News). Before
# borrowing a pretrained giant (chapter 08), we build the whole pipeline ourselves:
# raw text → clean text → tokens → ids → padded batches → a bidirectional LSTM → a label.
#
# **You will learn**
# - how to clean real news text and turn it into ids: a tokenizer, a vocabulary with a
#   minimum frequency, and the `<unk>` and `<pad>` tokens;
# - why padding needs care (packed sequences, masked pooling) and how batching texts of
#   similar length saves most of the padding;
# - how a bidirectional LSTM reads a text, from its equations to `nn.LSTM`;
# - how to train it with `fit` and judge it with a per-class report, a confusion matrix
#   and its mistakes;
# - why a dense layer on the LSTM's per-time-step outputs is the wrong classifier.

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

device = bml.setup(seed=0, threads=1)

# %% tags=["nbval-ignore-output"]
import matplotlib.pyplot as plt
import numpy as np
import torch

import itertools
from collections import Counter

import ipywidgets as widgets
import pandas as pd
import torch.nn.functional as F
from torch import nn

from bigmodel_lib import metrics
from bigmodel_lib.bilstm import BiLSTMClassifier, length_mask, lstm_cell, masked_mean
from bigmodel_lib.news import clean_news_text, load_news
from bigmodel_lib.plots import plot_curves
from bigmodel_lib.text import (
    Vocabulary, encode_texts, make_loader, pad_sequences, padding_fraction, tokenize,
)
from bigmodel_lib.train import fit, predict

# On the CPU the setup cell asked for one thread (threads=1): an LSTM multiplies small
# matrices one time step after another, and split across threads each product costs more
# in coordination than it saves (as fast on an idle laptop, many times faster on a busy one).
print(f"torch threads: {torch.get_num_threads()}")

# %% [markdown]
# ## 1. The news, and how raw it is
#
# `load_news(split)` gives the texts and labels of one split. It takes real AG News rows
# from the folder named by `$BIGMODEL_AG_NEWS_DIR` when that is set, the full AG News
# from the internet on Colab, and otherwise the small news corpus that ships with the
# course; it always says which one it used. Validation and test rows are carved out of
# the training file the same way on every machine (see `bigmodel_lib/news.py`).

# %% tags=["nbval-ignore-output"]
N_TRAIN = bml.pick(default=20_000, gpu=None)  # None: every training row
train = load_news("train", max_rows=N_TRAIN)
val = load_news("validation")
test = load_news("test")
CLASSES = train.label_names
LARGE = len(train) >= 10_000  # real AG News; the bundled corpus has about a thousand items
print(f"\n{len(train):,} training, {len(val):,} validation, {len(test):,} test items")
print("first training item:", CLASSES[train.labels[0]], "|", train.texts[0])

# %%
fig, ax = plt.subplots(figsize=(7, 3))
width = 0.27
for k, (name, split) in enumerate([("train", train), ("validation", val), ("test", test)]):
    counts = np.bincount(split.labels, minlength=len(CLASSES))
    ax.bar(np.arange(len(CLASSES)) + (k - 1) * width, counts / counts.sum(), width, label=name)
ax.set(xticks=range(len(CLASSES)), xticklabels=CLASSES, ylabel="share of the split",
       title="Classes are balanced in every split")
ax.legend(loc="lower right")
plt.show()

# %% [markdown]
# AG News comes from AG's corpus of news articles, which the ComeToMyHead academic news
# search engine gathered from more than 2,000 news sources starting in July 2004
# ([corpus page](http://www.di.unipi.it/~gulli/AG_corpus_of_news_articles.html)); Zhang et
# al. (2015) kept its four largest topics. The gathering left marks. HTML entities
# lost their `&` (`#39;` is an apostrophe, ` quot;` a quote, `#36;` a dollar sign), line
# breaks became backslashes that glue words together, and some items still carry
# escaped HTML tags. Left alone, `street #39;s` becomes the tokens `#`, `39`, `;`, `s`
# and `dwindling\band` one word nobody else uses. Here are made-up lines with the same
# quirks, before and after `clean_news_text`:

# %%
raw_examples = [
    "Stocks rally as oil falls below  #36;40\\a barrel",
    "Fed #39;s chief says  quot;growth is solid quot;",
    "&lt;b&gt;Update&lt;/b&gt; Texas A amp;M wins \\$1 million grant",
    "Chip maker cuts jobs\\\\Shares slip  #151; analysts shrug",
]
for raw in raw_examples:
    print(f"raw:   {raw}\nclean: {clean_news_text(raw)}\n")

# %%
bml.check(clean_news_text("Fed #39;s chief\\says  quot;hi quot;"), "Fed's chief says \"hi\"",
          "cleaning undoes the lost entities and backslashes")

# %% [markdown]
# ## 2. Tokens and a vocabulary
#
# A model reads numbers, not strings. The **tokenizer** (分词器) lower-cases a text and splits
# it into words, numbers and punctuation marks; the **vocabulary** (词表) gives every token seen
# often enough in the *training* texts an id. Two ids are special: `<pad>` (0) fills up
# short texts in a batch, and `<unk>` (1) stands for any token the vocabulary does not
# know: a rare name, a typo, a word that only appears in the test set.

# %%
print(tokenize("Wall St.'s rally: Apple shares jump 2.5% to $46.10!"))

# %%
MIN_FREQ = 2
train_tokens = [tokenize(t) for t in train.texts]
vocab = Vocabulary.build(train_tokens, min_freq=MIN_FREQ)
val_tokens = [tokenize(t) for t in val.texts]

# %% tags=["nbval-ignore-output"]
n_tokens = sum(len(t) for t in train_tokens)
print(f"{n_tokens:,} training tokens, {len(vocab.counts):,} distinct, "
      f"{len(vocab):,} in the vocabulary (seen at least {MIN_FREQ} times, plus <pad> and <unk>)")
print(f"the vocabulary covers {vocab.coverage(val_tokens):.1%} of the validation tokens")
print("most frequent:", vocab.itos[2:14])
print("encoded:", vocab.encode(val_tokens[0][:12]))
print("decoded:", vocab.decode(vocab.encode(val_tokens[0][:12])))

# %% [markdown]
# Word counts follow **Zipf's law** (齐普夫定律): the $r$-th most frequent word appears about
# $C / r$ times. A few words (`the`, `,`, `.`) are everywhere; most words are rare, and
# about half of the distinct words appear only once. That is why a minimum frequency
# shrinks the vocabulary (and the embedding table) so much while losing few tokens.

# %% tags=["nbval-ignore-output"]
freqs = np.array(sorted(vocab.counts.values(), reverse=True))
lengths_train = np.array([len(t) for t in train_tokens])
MAX_LEN = 64
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.5))
ranks = np.arange(1, len(freqs) + 1)
ax1.loglog(ranks, freqs, label="training tokens")
ax1.loglog(ranks, freqs[0] / ranks, "--", label="Zipf: $C/r$")
ax1.set(title="Word frequency against rank", xlabel="rank r (log)", ylabel="count (log)")
ax1.legend()
ax2.hist(lengths_train, bins=60, color="C2")
ax2.axvline(MAX_LEN, color="C3", ls="--", label=f"max_len = {MAX_LEN}")
ax2.set(title="Text lengths", xlabel="tokens per item", ylabel="items")
ax2.legend()
fig.tight_layout()
plt.show()
print(f"{(lengths_train > MAX_LEN).mean():.1%} of training items are longer than {MAX_LEN} tokens "
      "and get truncated (their end is cut: titles and first sentences carry the topic)")

# %% [markdown]
# ### Explore: the minimum frequency
#
# Move `min_freq`: the vocabulary shrinks fast, while the share of validation tokens it
# knows falls slowly. The headline underneath shows which of its words would become
# `<unk>`. Look for the point where names and numbers start to disappear.

# %%
val_counts = Counter(t for tokens in val_tokens for t in tokens)
val_total = sum(val_counts.values())
freq_range = np.arange(1, 21)
vocab_sizes = [2 + sum(c >= m for c in vocab.counts.values()) for m in freq_range]
coverages = [sum(c for t, c in val_counts.items() if vocab.counts[t] >= m) / val_total for m in freq_range]
example_tokens = val_tokens[0][:24]


def draw_min_freq(min_freq=2):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
    ax1.plot(freq_range, vocab_sizes, marker="o", ms=3)
    ax1.plot(min_freq, vocab_sizes[min_freq - 1], "o", color="C3", ms=9)
    ax1.set(title=f"vocabulary: {vocab_sizes[min_freq - 1]:,} tokens", xlabel="min_freq",
            ylabel="vocabulary size", yscale="log")
    ax2.plot(freq_range, np.array(coverages) * 100, marker="o", ms=3, color="C1")
    ax2.plot(min_freq, coverages[min_freq - 1] * 100, "o", color="C3", ms=9)
    ax2.set(title=f"validation tokens known: {coverages[min_freq - 1]:.1%}", xlabel="min_freq",
            ylabel="coverage (%)")
    shown = [t if vocab.counts[t] >= min_freq else "<unk>" for t in example_tokens]
    fig.text(0.5, -0.06, "as the model sees it: " + " ".join(shown), ha="center", wrap=True, fontsize=9)
    fig.tight_layout()
    plt.show()


# %% tags=["nbval-ignore-output"]
widgets.interact(draw_min_freq, min_freq=widgets.IntSlider(value=2, min=1, max=20, description="min_freq"));

# %% [markdown]
# ## 3. Padding, truncation and batches of similar length
#
# A batch is one tensor, so its texts must have one length: shorter ones are **padded**
# with `<pad>` on the right, longer ones **truncated** to `max_len`. `pad_sequences`
# returns the padded ids and the true lengths, which the model needs to ignore the padding:

# %%
ids, lengths = pad_sequences([[5, 6, 7, 8, 9, 10], [11, 12], [13, 14, 15]], max_len=4)
print(ids)
print("lengths:", lengths.tolist())

# %% [markdown]
# If a batch mixes a 10-token headline with an 80-token story, most of the batch is
# padding, and the LSTM still spends time stepping through it. A **length-aware
# batcher** (`BucketBatchSampler`) shuffles the data, sorts pools of 50 batches by
# length, cuts them into batches, and shuffles the batches: each batch holds texts of
# similar length, and the order still changes every epoch.

# %%
train_ids = encode_texts(train.texts, vocab, max_len=MAX_LEN)
val_ids = encode_texts(val.texts, vocab, max_len=MAX_LEN)
test_ids = encode_texts(test.texts, vocab, max_len=MAX_LEN)
BATCH = 64 if LARGE else 32  # a small corpus learns better from more, smaller steps
random_batches = make_loader(train_ids, train.labels, BATCH, bucket=False, seed=0)
bucketed = make_loader(train_ids, train.labels, BATCH, seed=0)
pad_random, pad_bucketed = padding_fraction(random_batches), padding_fraction(bucketed)
bml.check(pad_bucketed < pad_random / 3, True, "bucketing removes most of the padding")

# %% tags=["nbval-ignore-output"]
print(f"padding: {pad_random:.1%} of a random batch, {pad_bucketed:.1%} of a bucketed one")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2), sharey=True)
for ax, loader, name in [(axes[0], random_batches, "random batches"), (axes[1], bucketed, "bucketed batches")]:
    for b, (inputs, _) in enumerate(itertools.islice(loader, 30)):
        n = inputs["lengths"]
        ax.plot([b] * len(n), n, ".", color="C0", alpha=0.4, ms=3)
        ax.plot(b, inputs["input_ids"].shape[1], "_", color="C3", ms=10)
    ax.set(title=f"{name}: lengths (dots) and padded width (red)", xlabel="batch", ylabel="tokens")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 4. The model: a bidirectional LSTM
#
# **Embedding.** Token $x_t$ becomes a learned vector $e_t = E[x_t] \in \mathbb{R}^{d}$,
# a row of the embedding matrix $E \in \mathbb{R}^{|V| \times d}$ ($|V|$ the vocabulary
# size, $d$ the embedding size). The row of `<pad>` is fixed at zero.
#
# **LSTM.** An LSTM reads $e_1, \dots, e_T$ one step at a time and keeps a hidden state
# $h_t \in \mathbb{R}^{H}$ and a cell state $c_t$ (its memory). Gates between 0 and 1
# decide what to forget, what to write and what to show ($\sigma$ is the logistic
# function, $\odot$ the elementwise product):
#
# $$
# \begin{aligned}
# i_t &= \sigma(W_i e_t + U_i h_{t-1} + b_i) && \text{input gate: how much to write}\\
# f_t &= \sigma(W_f e_t + U_f h_{t-1} + b_f) && \text{forget gate: how much memory to keep}\\
# g_t &= \tanh(W_g e_t + U_g h_{t-1} + b_g) && \text{candidate: what to write}\\
# o_t &= \sigma(W_o e_t + U_o h_{t-1} + b_o) && \text{output gate: how much to show}\\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t).
# \end{aligned}
# $$
#
# **Bidirectional.** A second LSTM reads the text backwards; at each step we stack both
# states, $h_t = [\overrightarrow{h}_t ; \overleftarrow{h}_t] \in \mathbb{R}^{2H}$, so
# every position sees its left *and* right context.
#
# **Pooling over time, padding masked.** One text needs one label, so the $T$ vectors
# are pooled into one, over the real steps $t \le L$ only ($L$ the text's length):
# $z_j = \max_{t \le L} h_{t,j}$ (max pooling; mean pooling averages instead).
#
# **Classifier.** Logits $s = W z + b \in \mathbb{R}^{K}$ for $K = 4$ classes, trained
# with cross-entropy $-\log \operatorname{softmax}(s)_y$ against the true class $y$
# (chapter 02).
#
# `bigmodel_lib.bilstm.lstm_cell` is the step above, line by line. Unrolled over a
# sentence, in both directions, with the weights of `nn.LSTM`, it must reproduce what
# `nn.LSTM` computes:

# %%
torch.manual_seed(0)
demo = BiLSTMClassifier(vocab_size=50, num_classes=4, embed_dim=8, hidden_dim=6).eval()
sentence = torch.tensor([[7, 3, 21, 9, 14]])
with torch.no_grad():
    x = demo.embedding(sentence)[0]  # (T, d)
    expected, _ = demo.lstm(x[None])  # (1, T, 2H): what torch computes
    states = {}
    for direction, suffix, steps in [("forward", "", range(5)), ("backward", "_reverse", range(4, -1, -1))]:
        W = [getattr(demo.lstm, f"{name}_l0{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        h = c = torch.zeros(1, 6)
        out = [None] * 5
        for t in steps:
            h, c = lstm_cell(x[t:t + 1], h, c, *W)
            out[t] = h[0]
        states[direction] = torch.stack(out)
    ours = torch.cat([states["forward"], states["backward"]], dim=1)

# %% tags=["nbval-ignore-output"]
bml.check(ours, expected[0], "lstm_cell unrolled both ways = nn.LSTM", atol=1e-6)

# %% [markdown]
# Padding must not change the answer. The model packs the batch
# (`pack_padded_sequence`), so each direction reads exactly $L$ steps, and the pooling
# skips the padded positions. The same sentence with 20 `<pad>` tokens after it gives
# the same logits:

# %%
with torch.no_grad():
    short = demo(sentence)
    padded = demo(torch.cat([sentence, torch.zeros(1, 20, dtype=torch.long)], dim=1))
bml.check(float((short - padded).abs().max()) < 1e-6, True, "more padding, same logits")

# %% [markdown]
# ## 5. Training with `fit`
#
# The real model: 64-dimensional embeddings, 64 hidden units per direction, max pooling,
# dropout 0.2. Most of its parameters sit in the embedding table, one row per word.
# `fit` (chapter 05) runs the training loop; validation accuracy is computed after each
# epoch with `metrics.accuracy` (chapter 06).

# %%
torch.manual_seed(0)
model = BiLSTMClassifier(len(vocab), len(CLASSES), embed_dim=64, hidden_dim=64, pooling="max", dropout=0.2)
n_params = sum(p.numel() for p in model.parameters())
n_embedding = model.embedding.weight.numel()
bml.check(n_params > n_embedding > n_params / 2, True, "the embedding holds most parameters")

# %% tags=["nbval-ignore-output"]
print(model)
print(f"{n_params:,} parameters, {n_embedding / n_params:.0%} of them in the embedding table")

# %% tags=["nbval-ignore-output"]
EPOCHS = bml.pick(default=3, gpu=6) if LARGE else 12  # a small corpus needs more passes
train_loader = make_loader(train_ids, train.labels, BATCH, seed=0)
val_loader = make_loader(val_ids, val.labels, 256, shuffle=False)
history = fit(
    model, train_loader, F.cross_entropy, torch.optim.Adam(model.parameters(), lr=3e-3),
    epochs=EPOCHS, val_data=val_loader, grad_clip=1.0, seed=0, device=device,
    metrics={"accuracy": lambda logits, y: metrics.accuracy(y, logits.argmax(dim=1))},
)
print(f"{sum(history['epoch_time_s']):.0f} s of training; validation accuracy by epoch:",
      [round(a, 3) for a in history["val_accuracy"]])

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.5))
plot_curves({"train": history["train_loss"], "validation": history["val_loss"]},
            title="Loss", ylabel="cross-entropy", ax=ax1)
plot_curves({"validation": history["val_accuracy"]}, title="Validation accuracy", ylabel="accuracy", ax=ax2)
for ax in (ax1, ax2):
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
fig.tight_layout()
plt.show()

# %% [markdown]
# The first epoch's training loss sits above the validation loss: it is averaged over an
# epoch during which the model was still learning (and dropout is on), while the
# validation loss is measured at the end of the epoch. A validation loss that levels off
# while the training loss keeps falling is the usual sign to stop.
#
# ## 6. How good is it?
#
# The test split was never used for a decision so far, so its accuracy estimates how
# the model does on news it has not seen. `predict` returns the logits in data order
# (the test loader does not shuffle). The per-class report and the confusion matrix
# (chapter 06) show *where* it errs.

# %%
test_loader = make_loader(test_ids, test.labels, 256, shuffle=False)
test_logits = predict(model, test_loader)
test_pred = test_logits.argmax(dim=1)
test_acc = metrics.accuracy(test.labels, test_pred)
bml.check(test_acc > 0.5, True, "test accuracy far above chance (0.25)")

# %% tags=["nbval-ignore-output"]
print(f"test accuracy: {test_acc:.3f} on {len(test):,} items\n")
print(metrics.classification_report(test.labels, test_pred, target_names=CLASSES, digits=3))

# %%
cm = metrics.confusion_matrix(test.labels, test_pred, num_classes=len(CLASSES))
share = cm / cm.sum(axis=1, keepdims=True)
fig, ax = plt.subplots(figsize=(5.2, 4.4))
im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
for i in range(len(CLASSES)):
    for j in range(len(CLASSES)):
        ax.text(j, i, f"{cm[i, j]}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=9,
                color="white" if share[i, j] > 0.5 else "black")
ax.set(xticks=range(len(CLASSES)), xticklabels=CLASSES, yticks=range(len(CLASSES)), yticklabels=CLASSES,
       xlabel="predicted class", ylabel="true class", title="Confusion matrix on the test split")
fig.colorbar(im, ax=ax, label="share of the true class")
plt.show()

# %% [markdown]
# Business and Sci/Tech are confused most: a chip maker's earnings, a telecom merger
# or an internet IPO is both. Sports is the easiest. Reading the most confident
# mistakes tells us more than any number. On the real AG News rows, several of them are
# Olympic or baseball reports filed under *World*: there the label, not the model, is
# wrong. Every large labelled data set has such noise, and it caps the accuracy any
# model can reach on it.

# %% tags=["nbval-ignore-output"]
probs = test_logits.softmax(dim=1)
wrong = (test_pred != torch.tensor(test.labels)).nonzero().flatten()
worst = wrong[probs[wrong].max(dim=1).values.argsort(descending=True)][:8]
pd.set_option("display.max_colwidth", 110)
pd.DataFrame({
    "true": [CLASSES[test.labels[i]] for i in worst],
    "predicted": [CLASSES[test_pred[i]] for i in worst],
    "confidence": [f"{probs[i].max():.2f}" for i in worst],
    "text": [test.texts[i][:150] for i in worst],
})

# %% [markdown]
# ### Explore: what the model looks at
#
# Max pooling picks, for each of the $2H$ features, the time step where it is largest.
# Counting how many features each word "wins" shows which words the decision rests on.
# Move the slider through the test items; the title says whether the model was right.

# %%
def word_votes(text):
    ids = torch.tensor([vocab.encode(tokenize(text))[:MAX_LEN]], device=device)
    with torch.no_grad():
        model.eval()
        h, _ = model.lstm(model.embedding(ids))  # one text, no padding
        winners = h[0].argmax(dim=0)  # the winning time step of each feature
        p = model(ids).softmax(dim=1)[0]
    tokens = vocab.decode(ids[0].tolist())
    return tokens, np.bincount(winners.cpu().numpy(), minlength=len(tokens)), p.cpu().numpy()


def draw_item(index=0):
    tokens, votes, p = word_votes(test.texts[index])
    truth, guess = CLASSES[test.labels[index]], CLASSES[int(p.argmax())]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1, 2.4]})
    ax1.barh(CLASSES, p, color=["C2" if c == truth else "C7" for c in CLASSES])
    ax1.set(xlim=(0, 1), xlabel="probability", title=f"true: {truth}, predicted: {guess}")
    ax1.invert_yaxis()
    top = np.argsort(-votes, kind="stable")[:15]
    ax2.bar([f"{tokens[t]}\n({t})" for t in top], votes[top], color="C0")
    ax2.set(ylabel="features won", title="words that win the max pooling (position in brackets)")
    ax2.tick_params(axis="x", labelrotation=60, labelsize=8)
    text = test.texts[index]
    fig.suptitle(text if len(text) <= 130 else text[:129] + "…", fontsize=9)
    fig.tight_layout()
    plt.show()


# %% tags=["nbval-ignore-output"]
widgets.interact(draw_item, index=widgets.IntSlider(value=0, min=0, max=len(test) - 1, description="test item",
                                                    continuous_update=False));

# %% [markdown]
# ## 7. Pitfalls
#
# ### 7.1 A dense layer on every time step
#
# A popular recipe (in Keras: `LSTM(64, return_sequences=True)` followed by `Dense(4)`)
# puts the classifier on the LSTM's output at *every* time step. The model then makes
# $T$ predictions per text, the label is copied to all of them for the loss, padding
# included, and at test time one reads some step, often the last. That is wrong three
# ways: each step has seen only part of the text in one direction (the last step's
# backward state has read one word); steps on padding are scored as if they were words;
# and the answer changes with how much padding the batch happened to need.

# %%
class PerStepClassifier(nn.Module):
    """The wrong model: a label for every time step, the padding read as if it were text."""

    def __init__(self, vocab_size, num_classes, embed_dim=64, hidden_dim=64):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden_dim, num_classes)

    def forward(self, input_ids, lengths=None):  # lengths ignored, as in the recipe
        out, _ = self.lstm(self.embedding(input_ids))
        return self.head(out)  # (batch, time, classes): one prediction per step


def per_step_loss(logits, y):
    """The label copied to every time step, padding included."""
    steps = logits.shape[1]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y[:, None].expand(-1, steps).reshape(-1))


def fixed_width(seqs):
    """Every text padded (or cut) to MAX_LEN, as the recipe's pad_sequences(maxlen=...) does."""
    ids, _ = pad_sequences(seqs, max_len=MAX_LEN)
    return F.pad(ids, (0, MAX_LEN - ids.shape[1]))


torch.manual_seed(0)
wrong_model = PerStepClassifier(len(vocab), len(CLASSES))
with torch.no_grad():
    print("output shape for 3 texts:", tuple(wrong_model(fixed_width(val_ids[:3])).shape), "-> (texts, steps, classes)")

# %% [markdown]
# Train it and a pooled `BiLSTMClassifier` of the same size on the same 4,000 items
# (two epochs; more on the small bundled corpus). Then score the per-step model at every
# time step: its accuracy depends on *where* you read it, and no step is the text's
# answer.

# %% tags=["nbval-ignore-output"]
small = slice(0, 4000)
PITFALL_EPOCHS = 2 if LARGE else 8
X_small, y_small = fixed_width(train_ids[small]), torch.tensor(train.labels[small])
fit(wrong_model, (X_small, y_small), per_step_loss, torch.optim.Adam(wrong_model.parameters(), lr=3e-3),
    epochs=PITFALL_EPOCHS, batch_size=BATCH, seed=0, live_plot=False, device=device)
torch.manual_seed(0)
right_model = BiLSTMClassifier(len(vocab), len(CLASSES), embed_dim=64, hidden_dim=64)
fit(right_model, make_loader(train_ids[small], train.labels[small], BATCH, seed=0), F.cross_entropy,
    torch.optim.Adam(right_model.parameters(), lr=3e-3), epochs=PITFALL_EPOCHS, seed=0, live_plot=False,
    device=device);

# %% tags=["nbval-ignore-output"]
y_val = torch.tensor(val.labels)
step_logits = predict(wrong_model, fixed_width(val_ids))  # (n, MAX_LEN, classes)
step_right = step_logits.argmax(dim=-1) == y_val[:, None]
pooled_acc = metrics.accuracy(y_val, predict(right_model, val_loader).argmax(dim=1))
results = {
    "per-step model, accuracy averaged over all steps (what Keras prints)": step_right.float().mean().item(),
    "per-step model, prediction at the last step": step_right[:, -1].float().mean().item(),
    "pooled BiLSTM (masked max pooling)": pooled_acc,
}
for name, acc in results.items():
    print(f"{name:<70} {acc:.3f}")
fig, ax = plt.subplots(figsize=(7.5, 3.4))
ax.plot(np.arange(1, MAX_LEN + 1), step_right.float().mean(dim=0).numpy(), label="per-step model, read at step t")
ax.axhline(pooled_acc, color="C2", ls="--", label="pooled BiLSTM, one answer per text")
ax.axvline(np.median([len(s) for s in val_ids]), color="C7", ls=":", label="median text length (then padding)")
ax.set(title="Validation accuracy of a per-time-step classifier", xlabel="time step t",
       ylabel="accuracy", ylim=(0, 1))
ax.legend(loc="lower left")
plt.show()

# %% [markdown]
# Read at the last step, as the recipe usually does, the per-step model falls several
# points behind the pooled one: there its forward direction has walked through dozens
# of `<pad>` steps after the text, and its backward direction has read a single `<pad>`.
# Read near the start it can come close, because there the backward direction has read
# the whole text. So it is not that the per-step model never works: its answer depends
# on a choice (which step?) that has nothing to do with the text. And on the padding:
# the same headline, padded to 20 and to 64 steps, gets different "last step"
# predictions, while the pooled model gives the same answer whatever the padding.

# %%
headline = torch.tensor(val_ids[0][:12], device=device)  # fit left both models on `device`
with torch.no_grad():
    wrong_model.eval(), right_model.eval()
    last_20 = wrong_model(F.pad(headline, (0, 8))[None])[0, -1].softmax(-1)
    last_64 = wrong_model(F.pad(headline, (0, 52))[None])[0, -1].softmax(-1)
    pooled_20 = right_model(F.pad(headline, (0, 8))[None]).softmax(-1)
    pooled_64 = right_model(F.pad(headline, (0, 52))[None]).softmax(-1)
bml.check(float((last_20 - last_64).abs().max()) > 1e-3, True, "the per-step answer moves with the padding")
bml.check(float((pooled_20 - pooled_64).abs().max()) < 1e-6, True, "the pooled answer does not")

# %% [markdown]
# **Fix:** pool over time with the padding masked (or take the final states of both
# directions from a packed sequence), then one linear layer: `BiLSTMClassifier`.
#
# ### 7.2 Letting the LSTM read the padding
#
# Even with pooling, running `nn.LSTM` on a padded batch without packing lets the
# *backward* direction start on the padding: by the time it reaches the real words, its
# state is whatever 20 `<pad>` vectors made of it. The forward states of the real words
# are untouched (they come before the padding), the backward ones are not:

# %%
with torch.no_grad():
    alone, _ = demo.lstm(demo.embedding(sentence))
    with_pads, _ = demo.lstm(demo.embedding(torch.cat([sentence, torch.zeros(1, 20, dtype=torch.long)], 1)))
forward_diff = float((alone[0, :, :6] - with_pads[0, :5, :6]).abs().max())
backward_diff = float((alone[0, :, 6:] - with_pads[0, :5, 6:]).abs().max())
print(f"largest change from 20 pads: forward states {forward_diff:.1e}, backward states {backward_diff:.2f}")
bml.check(backward_diff > 1e-3, True, "unpacked: padding leaks into the backward direction")

# %% [markdown]
# **Fix:** `pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)`
# before the LSTM, as `BiLSTMClassifier` does (checked above: more padding, same logits).
#
# ### 7.3 A vocabulary built on the test set
#
# Building the vocabulary on *all* texts, test included, looks harmless. But it hides
# exactly the problem the model will meet in use: words it has never seen. The test
# coverage it reports is too good to be true.

# %%
leaky_vocab = Vocabulary.build(train_tokens + [tokenize(t) for t in test.texts], min_freq=1)
test_tokens = [tokenize(t) for t in test.texts]
honest, leaky = vocab.coverage(test_tokens), leaky_vocab.coverage(test_tokens)
bml.check(leaky == 1.0 and honest < 1.0, True, "the leaky vocabulary knows every test word")

# %% tags=["nbval-ignore-output"]
print(f"test tokens known: {honest:.1%} with the training vocabulary, {leaky:.1%} with the leaky one")

# %% [markdown]
# **Fix:** build the vocabulary (and anything else fitted to data: normalisation,
# TF-IDF weights) on the training split only.
#
# ### 7.4 Predicting with a shuffled, bucketed loader
#
# `predict` returns outputs in the order the loader yields them. A training loader
# shuffles and buckets, so its order is not the data order, and comparing its
# predictions with the labels in data order scores a good model like a coin toss:

# %%
shuffled = make_loader(val_ids, val.labels, 256, shuffle=True, seed=1)
bad_acc = metrics.accuracy(val.labels, predict(model, shuffled).argmax(dim=1))
good_acc = metrics.accuracy(val.labels, predict(model, val_loader).argmax(dim=1))
bml.check(bad_acc < 0.4 and good_acc > bad_acc + 0.2, True, "shuffled predictions no longer line up with the labels")

# %% tags=["nbval-ignore-output"]
print(f"validation accuracy: {bad_acc:.3f} with a shuffled loader, {good_acc:.3f} in data order")

# %% [markdown]
# **Fix:** evaluate with `shuffle=False` (our loaders then batch in data order), or
# collect the labels from the same loader as the predictions.
#
# ## Exercises
#
# **Exercise 1.** Count the parameters of `BiLSTMClassifier(V, K, embed_dim=d,
# hidden_dim=H)` with one layer, from the equations: the embedding table, then per
# direction four gates, each with a $H \times d$ matrix, a $H \times H$ matrix and (in
# torch) two bias vectors of size $H$, then the linear layer from $2H$ to $K$. Write the
# formula and check it against `sum(p.numel() for p in m.parameters())` for
# `m = BiLSTMClassifier(1000, 4, embed_dim=32, hidden_dim=16)`.
#
# **Exercise 2.** Three texts of 3, 7 and 2 tokens are padded into one batch. What
# fraction of the batch tensor is padding? Check your number against the tensor that
# `pad_sequences` builds.
#
# **Exercise 3.** Write masked mean pooling with a loop: for each text, the mean of its
# first $L$ vectors. Check it against `masked_mean` on random whole numbers (so every
# machine prints the same result) with lengths `[4, 1, 3]`.

# %% [markdown]
# ### Solutions
# Expand the hidden cell to see them.

# %% jupyter={"source_hidden": true}
# Exercise 1: embedding V*d; per direction 4 gates * (H*d + H*H + 2H); linear 2H*K + K.
def bilstm_parameters(V, K, d, H):
    return V * d + 2 * 4 * (H * d + H * H + 2 * H) + 2 * H * K + K


m = BiLSTMClassifier(1000, 4, embed_dim=32, hidden_dim=16)
bml.check(bilstm_parameters(1000, 4, 32, 16), sum(p.numel() for p in m.parameters()), "BiLSTM parameter count")

# Exercise 2: 3 + 7 + 2 = 12 real tokens in a 3 x 7 tensor.
batch, batch_lengths = pad_sequences([[1] * 3, [1] * 7, [1] * 2])
bml.check(1 - 12 / 21, float((batch == 0).float().mean()), "padding fraction")


# Exercise 3: the mean over the first L steps of each text.
def loop_masked_mean(h, lengths):
    return torch.stack([h[b, :n].mean(dim=0) for b, n in enumerate(lengths)])


g = torch.Generator().manual_seed(0)
h_random, L = torch.randint(-9, 10, (3, 5, 2), generator=g).float(), torch.tensor([4, 1, 3])
bml.check(loop_masked_mean(h_random, L), masked_mean(h_random, length_mask(L, 5)), "masked mean pooling")

# %% [markdown]
# ## Summary
# - Real text needs cleaning first: AG News carries broken HTML entities, escaped tags
#   and backslashes; `clean_news_text` undoes them.
# - Tokenizer → vocabulary (from training texts only, with a minimum frequency,
#   `<pad>` = 0 and `<unk>` = 1) → ids → padded batches with their lengths.
# - Length bucketing puts texts of similar length together and removes most padding.
# - A BiLSTM reads each text both ways; packing keeps padding out of the recurrence and
#   masked pooling keeps it out of the summary, so the prediction never depends on padding.
# - One text, one prediction: pool over time, then classify. A dense layer on every time
#   step is a different (and worse) model.
# - Judge a classifier per class and by its mistakes, not by one accuracy.
#
# **Further reading:** S. Hochreiter and J. Schmidhuber,
# [Long Short-Term Memory](https://www.bioinf.jku.at/publications/older/2604.pdf) (1997) [ref:hochreiter1997];
# A. Graves and J. Schmidhuber, *Framewise phoneme classification with bidirectional LSTM* (2005) [ref:graves2005];
# C. Olah, [Understanding LSTM Networks](https://colah.github.io/posts/2015-08-Understanding-LSTMs/) [ref:olah2015];
# X. Zhang, J. Zhao, Y. LeCun, [Character-level Convolutional Networks for Text Classification](https://arxiv.org/abs/1509.01626) (2015, AG News) [ref:zhang2015];
# PyTorch: [`pack_padded_sequence`](https://pytorch.org/docs/stable/generated/torch.nn.utils.rnn.pack_padded_sequence.html).
# Next: chapter 08 fine-tunes a pretrained BERT on the same news and compares it with this BiLSTM.

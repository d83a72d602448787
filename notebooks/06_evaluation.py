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
# # 06 · Evaluation and model selection
# *中文：模型评估与模型选择*
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/bigmodel-course/bigmodel-course/blob/main/notebooks/06_evaluation.ipynb)
#
# A model is only as good as the number we judge it by, and only as honest as the
# data we judged it on. This chapter is about both: which number, and which data.
#
# **You will learn**
# - why accuracy misleads on imbalanced data, and what precision, recall and F1
#   (per class, macro, micro) say instead;
# - to read a confusion matrix, ROC and precision-recall curves, and to pick a
#   decision threshold;
# - to estimate performance with k-fold cross-validation, with error bars;
# - to tune hyperparameters by grid, random and Bayesian search (a Gaussian process
#   with expected improvement, from scratch) on the same budget;
# - why an ensemble of models beats its members, and by how much.

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

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

import ipywidgets as widgets
import pandas as pd
import torch.nn as nn
import torch.nn.functional as F
from sklearn import metrics as skm
from sklearn.datasets import load_digits

from bigmodel_lib.metrics import (accuracy, average_precision, classification_report,
                                  confusion_matrix, precision_recall_curve, precision_recall_f1,
                                  roc_auc, roc_curve)
from bigmodel_lib.progress import progress
from bigmodel_lib.selection import (GaussianProcess, LogUniform, Uniform, average_probabilities,
                                    bayesian_optimization, cross_validate, expected_improvement,
                                    fit_gp, grid_search, majority_vote, random_search,
                                    stratified_kfold)

# %% [markdown]
# The models in this chapter are tiny (a few thousand weights) and train in a fraction
# of a second, so the setup cell gives the CPU one thread (`threads=1`): for models this small,
# coordinating several threads costs more than it saves.

# %% [markdown]
# ## 1. Accuracy can lie
#
# Our data: scikit-learn's 8×8 images of handwritten digits (1,797 of them, shipped
# with the library, no download). Real data is rarely balanced, so we make it
# imbalanced on purpose: we keep every 0–4 but only some of the 5–9.
# Then we split it in half, stratified (each class keeps its share in both halves;
# section 5 explains how).

# %%
digits = load_digits()
rng = np.random.default_rng(0)
keep_fraction = np.array([1, 1, 1, 1, 1, 0.7, 0.5, 0.35, 0.25, 0.3])
keep = rng.random(len(digits.target)) < keep_fraction[digits.target]
X_all = torch.tensor(digits.data[keep] / 16.0, dtype=torch.float32)  # pixels in [0, 1]
y_all = torch.tensor(digits.target[keep])
train_idx, test_idx = stratified_kfold(y_all, k=2, seed=0)[0]
X_train, y_train = X_all[train_idx], y_all[train_idx]
X_test, y_test = X_all[test_idx], y_all[test_idx].numpy()
counts = np.bincount(y_test, minlength=10)
print(f"{len(y_all)} images: {len(train_idx)} to train, {len(test_idx)} to test")
print("test images per class:", counts.tolist())

fig, axes = plt.subplots(1, 2, figsize=(10, 2.8), gridspec_kw={"width_ratios": [1, 2]})
axes[0].imshow(digits.images[0], cmap="gray_r")
axes[0].set(title="one 8×8 image (a 0)", xticks=[], yticks=[])
axes[1].bar(range(10), counts, color=["C0"] * 9 + ["C3"])
axes[1].set(title="test set: images per class (9 in red: 5% of the images)", xlabel="digit",
            ylabel="images", xticks=range(10))
plt.tight_layout()
plt.show()

# %% [markdown]
# Suppose the job is to flag the nines. A "detector" that *never* says 9 is right on
# every image that is not a 9, which is 95% of them:

# %%
is_nine = y_test == 9
never_nine = np.zeros_like(is_nine)
print(f"accuracy of 'never a nine': {accuracy(is_nine, never_nine):.3f}")
print(f"nines it finds:             {int((never_nine & is_nine).sum())} of {int(is_nine.sum())}")

# %% [markdown]
# 95% accuracy and useless. Accuracy counts every correct answer the same, so on
# imbalanced data it mostly measures how common the majority class is. We need
# numbers that look at each class separately. First, a real model to judge: a
# two-layer perceptron trained full-batch with AdamW by the course's `fit`
# (chapter 05). We will train well over a hundred of them in this chapter.

# %% tags=["nbval-ignore-output"]
from bigmodel_lib.train import NonFiniteLossError, fit


def train_mlp(X, y, *, hidden=32, lr=1e-2, weight_decay=1e-4, epochs=100, seed=0):
    """A fresh 64 -> hidden -> 10 perceptron trained on (X, y) with full-batch AdamW."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    fit(model, (X, y), F.cross_entropy, optimizer, epochs=epochs, batch_size=len(X), shuffle=False,
        progress=False)
    return model


def predict_proba(model, X):
    with torch.no_grad():
        return model(X).softmax(dim=1).numpy().astype(np.float64)


models = {"strong (100 epochs)": train_mlp(X_train, y_train, epochs=100),
          "weak (10 epochs)": train_mlp(X_train, y_train, epochs=10)}
probs = {name: predict_proba(model, X_test) for name, model in models.items()}
proba = probs["strong (100 epochs)"]
y_pred = proba.argmax(axis=1)

# %% tags=["nbval-ignore-output"]
print(f"strong model: accuracy {accuracy(y_test, y_pred):.3f}")
print(f"weak model:   accuracy {accuracy(y_test, probs['weak (10 epochs)'].argmax(1)):.3f}")

# %% [markdown]
# ## 2. Precision, recall and F1, per class
#
# For one class $c$, each test image falls in one of four boxes:
#
# | | predicted $c$ | predicted other |
# |---|---|---|
# | **truly $c$** | true positive $TP_c$ | false negative $FN_c$ |
# | **truly other** | false positive $FP_c$ | true negative $TN_c$ |
#
# $$P_c = \frac{TP_c}{TP_c + FP_c}, \qquad R_c = \frac{TP_c}{TP_c + FN_c}, \qquad
# F1_c = \frac{2 P_c R_c}{P_c + R_c} = \frac{2\,TP_c}{2\,TP_c + FP_c + FN_c}$$
#
# - **Precision** (精确率) $P_c$: of the images we *called* $c$, the fraction that are $c$.
# - **Recall** (召回率) $R_c$: of the images that *are* $c$, the fraction we found.
# - **F1** (F1 值): their harmonic mean, high only when both are high.
# - **Support** (支持数) $n_c$: how many test images are truly $c$.
#
# A class never predicted has $TP_c + FP_c = 0$: its precision is $0/0$, reported as 0
# (scikit-learn's `zero_division=0`; our library does the same).
#
# With $K$ classes and $N$ images there are three ways to summarise:
#
# $$\text{macro} = \frac1K \sum_c F1_c, \qquad
# \text{weighted} = \sum_c \frac{n_c}{N} F1_c, \qquad
# \text{micro}\ P = \frac{\sum_c TP_c}{\sum_c (TP_c + FP_c)}.$$
#
# Macro treats every class as equally important, so a rare class that the model gets
# wrong pulls it down. Weighted and micro are dominated by the big classes. With one
# label per image, every mistake is one false positive (for the predicted class) and
# one false negative (for the true class), so micro precision = micro recall = micro
# F1 = accuracy.
#
# `precision_recall_f1` from `bigmodel_lib.metrics` computes all of it from the
# confusion counts (read it in `bigmodel_lib/metrics.py`: the arithmetic is a dozen lines):

# %% tags=["nbval-ignore-output"]
precision, recall, f1, support = precision_recall_f1(y_test, y_pred, average=None)
per_class = pd.DataFrame({"precision": precision, "recall": recall, "F1": f1, "support": support})
per_class.index.name = "digit"
per_class.round(3)

# %% [markdown]
# The rare classes (7, 8, 9) are where the model struggles. The report table puts the
# per-class rows and the averages together, in scikit-learn's layout:

# %% tags=["nbval-ignore-output"]
print(classification_report(y_test, y_pred, digits=3))

# %% [markdown]
# Checked against scikit-learn, for every kind of average (our functions return what
# `precision_recall_fscore_support(..., zero_division=0)` returns):

# %% tags=["nbval-ignore-output"]
for average in [None, "macro", "micro", "weighted"]:
    ours = precision_recall_f1(y_test, y_pred, average=average)[:3]
    theirs = skm.precision_recall_fscore_support(y_test, y_pred, average=average, zero_division=0)[:3]
    bml.check(np.array(ours), np.array(theirs), f"precision, recall, F1 ({average})", rtol=0, atol=1e-12)
bml.check(precision_recall_f1(y_test, y_pred, "micro")[0], accuracy(y_test, y_pred),
          "micro precision = accuracy")
bml.check(classification_report(y_test, y_pred, output_dict=True),
          skm.classification_report(y_test, y_pred, output_dict=True, zero_division=0),
          "report as a dict")

# %% [markdown]
# ## 3. The confusion matrix
#
# All of these numbers come from one table: $C_{ij}$ = number of images of true class
# $i$ predicted as $j$. The diagonal is what we got right; each off-diagonal cell is
# a specific confusion. Dividing each row by its sum puts the recall of each class on
# the diagonal, which is easier to read when classes have different sizes.

# %%
def draw_confusion(ax, cm, title, labels=range(10), fmt="d", fontsize=7):
    """A heat map of a confusion matrix with the value written in each cell."""
    ax.imshow(cm, cmap="Blues")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            value = cm[i, j]
            if fmt == "d" or value >= 0.005:
                ax.text(j, i, format(value, fmt), ha="center", va="center", fontsize=fontsize,
                        color="white" if value > 0.6 * cm.max() else "black")
    ticks = range(len(labels))
    ax.set(title=title, xlabel="predicted class", ylabel="true class", xticks=ticks, yticks=ticks,
           xticklabels=labels, yticklabels=labels)


fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
draw_confusion(axes[0], confusion_matrix(y_test, y_pred, num_classes=10), "counts")
draw_confusion(axes[1], confusion_matrix(y_test, y_pred, num_classes=10, normalize="true"),
               "each row divided by its sum (recall on the diagonal)", fmt=".2f")
plt.tight_layout()
plt.show()

# %% tags=["nbval-ignore-output"]
bml.check(confusion_matrix(y_test, y_pred, num_classes=10), skm.confusion_matrix(y_test, y_pred),
          "confusion matrix")

# %% [markdown]
# ### A warning about "per-class accuracy"
#
# Some reports show a table of "accuracy per class". If it is computed one-vs-rest,
# class $c$ against everything else, it is
#
# $$\text{acc}_c = \frac{TP_c + TN_c}{N},$$
#
# and $TN_c$, the images that are neither $c$ nor called $c$, is almost all of $N$ for
# a small class. Here is that table for the **weak** model:

# %% tags=["nbval-ignore-output"]
weak_pred = probs["weak (10 epochs)"].argmax(axis=1)
cm = confusion_matrix(y_test, weak_pred, num_classes=10)
tp = np.diag(cm)
fp, fn = cm.sum(axis=0) - tp, cm.sum(axis=1) - tp
tn = cm.sum() - tp - fp - fn
ovr = pd.DataFrame({"one-vs-rest accuracy": (tp + tn) / cm.sum(),
                    "recall": precision_recall_f1(y_test, weak_pred, None)[1],
                    "precision": precision_recall_f1(y_test, weak_pred, None)[0],
                    "support": cm.sum(axis=1)})
ovr.index.name = "digit"
ovr.round(3)

# %% [markdown]
# Every "accuracy" is high, yet the weak model finds none of the rare digits (their
# recall is 0). Worse, a class the model finds well can score *lower* than a class it
# never finds, because it attracts many false positives. What the one-vs-rest accuracy
# hides:
#
# - it is dominated by the true negatives, so for a class with 5% of the data a model
#   that never predicts it still scores 95%;
# - it adds up the two kinds of error (missed $c$, false alarms of $c$), so you cannot
#   tell which one you have;
# - its baseline differs per class ($1 - n_c/N$), so the numbers of two classes cannot
#   be compared;
# - and the name is ambiguous: some authors mean recall ("accuracy *within* class $c$").
#
# Report precision and recall per class instead, and say which one you mean.

# %% [markdown]
# ## 4. ROC and precision-recall curves
#
# A classifier gives *scores*; a label appears only once we pick a threshold $t$:
# "a nine if $p(9 \mid x) \ge t$". Every threshold gives a different confusion matrix.
# Two curves show all of them at once:
#
# - **ROC** (ROC 曲线): true positive rate $TPR = R = \frac{TP}{TP+FN}$ against false positive
#   rate $FPR = \frac{FP}{FP+TN}$. A random scorer lies on the diagonal.
#   Its area, **AUC** (曲线下面积), is the probability that a random positive scores higher than a
#   random negative (ties count one half).
# - **Precision-recall (PR)**: precision against recall. A random scorer has
#   precision equal to the share of positives, $\pi = 5\%$ here.
#   **Average precision** (平均精度) sums precision weighted by the recall each threshold adds:
#   $AP = \sum_n (R_n - R_{n-1})\, P_n$.
#
# To trace a curve, sort the scores from high to low and lower the threshold one
# distinct score at a time; tied scores enter together (otherwise the curve would
# depend on the arbitrary order of the tied samples). Here is the "is it a 9?" task,
# scored by the two models' $p(9 \mid x)$:

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for (name, p), color in zip(probs.items(), ["C0", "C1"], strict=True):
    fpr, tpr, _ = roc_curve(is_nine, p[:, 9])
    prec, rec, _ = precision_recall_curve(is_nine, p[:, 9])
    axes[0].plot(fpr, tpr, color=color, label=f"{name}: AUC {roc_auc(is_nine, p[:, 9]):.3f}")
    axes[1].plot(rec, prec, color=color, drawstyle="steps-post",
                 label=f"{name}: AP {average_precision(is_nine, p[:, 9]):.3f}")
axes[0].plot([0, 1], [0, 1], "k:", label="random scores")
axes[1].axhline(is_nine.mean(), color="k", ls=":", label=f"random scores ({is_nine.mean():.0%})")
axes[0].set(title="ROC: is it a 9?", xlabel="false positive rate", ylabel="true positive rate")
axes[1].set(title="precision-recall: is it a 9?", xlabel="recall", ylabel="precision", ylim=(0, 1.05))
for ax in axes:
    ax.legend(loc="lower right" if ax is axes[0] else "center left")
    ax.grid(alpha=0.3)
plt.tight_layout()
plt.show()

# %% [markdown]
# Both ROC curves look respectable, but the PR curve shows how bad the weak model
# really is at finding nines: to catch half of them, it must raise many false alarms.
# On imbalanced data, where the negatives vastly outnumber the positives, a small
# false positive *rate* still means many false positives, and only the PR curve shows
# it.
#
# Our curves return exactly what scikit-learn's do, thresholds included (the first
# threshold is $+\infty$: nothing predicted positive). Like scikit-learn, `roc_curve`
# drops points that lie on a straight segment between their neighbours
# (`drop_intermediate=True`); the area does not change.

# %% tags=["nbval-ignore-output"]
p9 = probs["weak (10 epochs)"][:, 9]
for ours, theirs, name in [(roc_curve(is_nine, p9), skm.roc_curve(is_nine, p9), "roc_curve"),
                           (precision_recall_curve(is_nine, p9), skm.precision_recall_curve(is_nine, p9),
                            "precision_recall_curve")]:
    for a, b, part in zip(ours, theirs, ["x", "y", "thresholds"], strict=True):
        bml.check(a, b, f"{name}: {part}", rtol=0, atol=1e-12)
bml.check(roc_auc(is_nine, p9), skm.roc_auc_score(is_nine, p9), "ROC AUC", rtol=0, atol=1e-12)
bml.check(average_precision(is_nine, p9), skm.average_precision_score(is_nine, p9), "average precision",
          rtol=0, atol=1e-12)

# %% [markdown]
# ## Explore: the decision threshold
#
# Move the threshold and watch one confusion matrix turn into another, while the
# point travels along both curves. Look for the trade: lowering the threshold finds
# more nines (recall up) and raises more false alarms (precision down). The slider
# is on a log scale, because the weak model never gives a nine more than about 7%:
# at the usual 0.5 it finds no nine at all. 0.5 is not a law of nature; the threshold
# is a choice, made for the costs of the two kinds of error.

# %%
def draw_threshold(threshold=0.5, model="weak (10 epochs)"):
    scores = probs[model][:, 9]
    flagged = scores >= threshold
    cm2 = confusion_matrix(is_nine, flagged, num_classes=2)
    p, r, f, _ = precision_recall_f1(is_nine, flagged, average="binary")
    fpr, tpr, _ = roc_curve(is_nine, scores)
    prec, rec, _ = precision_recall_curve(is_nine, scores)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    draw_confusion(axes[0], cm2, f"threshold {threshold:.3g}", labels=["not 9", "9"], fontsize=14)
    axes[1].plot(fpr, tpr, color="C0")
    axes[1].plot(cm2[0, 1] / cm2[0].sum(), r, "o", color="C3", ms=9, label="this threshold")
    axes[1].set(title="ROC", xlabel="false positive rate", ylabel="true positive rate")
    axes[2].plot(rec, prec, color="C0", drawstyle="steps-post")
    axes[2].plot(r, p if flagged.any() else 1.0, "o", color="C3", ms=9, label="this threshold")
    axes[2].set(title=f"PR: precision {p:.2f}, recall {r:.2f}, F1 {f:.2f}", xlabel="recall",
                ylabel="precision", ylim=(0, 1.05))
    for ax in axes[1:]:
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right" if ax is axes[1] else "lower left")
    plt.tight_layout()
    plt.show()


# %% tags=["nbval-ignore-output"]
_ = widgets.interact(
    draw_threshold,
    threshold=widgets.FloatLogSlider(value=0.5, base=10, min=-3, max=0, step=0.02,
                                     description="threshold", continuous_update=False),
    model=widgets.Dropdown(options=list(probs), value="weak (10 epochs)", description="model"),
)

# %% [markdown]
# ## 5. k-fold cross-validation
#
# A test set is precious: use it for every decision and it stops measuring anything
# (pitfall 3 below). To compare models during development we estimate their
# performance from the training data alone. **k-fold cross-validation** (k 折交叉验证) cuts the
# training set into $k$ folds, trains $k$ times, each time holding out one fold for
# validation, and averages:
#
# $$\widehat{\text{score}} = \frac1k \sum_{i=1}^{k} \text{score}\big(f_{-i},\ \text{fold}_i\big),
# \qquad \text{error bar: } s = \sqrt{\tfrac{1}{k-1}\sum_i (\text{score}_i - \widehat{\text{score}})^2}$$
#
# where $f_{-i}$ is the model trained on every fold but the $i$-th. Every sample is
# validated exactly once. **Stratified** folds keep each class's share in every fold,
# which matters when classes are rare (a fold with no 9 cannot measure the recall of
# 9). The spread $s$ across folds tells how much the score depends on which data you
# happened to validate on; the folds share training data, so $s/\sqrt{k}$ is only a
# rough (too small) standard error of the mean.
#
# `cross_validate` runs any training function of the form
# `train_fn(X_train, y_train, X_val, y_val) -> score`. Here: how does macro-F1 change
# with the width of the hidden layer?

# %% tags=["nbval-ignore-output"]
def macro_f1_of_width(hidden):
    def train_fn(X_tr, y_tr, X_val, y_val):
        model = train_mlp(X_tr, y_tr, hidden=hidden)
        return precision_recall_f1(y_val, predict_proba(model, X_val).argmax(1), "macro")[2]
    return train_fn


widths = [1, 2, 4, 8, 16, 64]
cv = {h: cross_validate(macro_f1_of_width(h), X_train, y_train, k=5, seed=0) for h in progress(widths)}
for h, result in cv.items():
    print(f"hidden {h:>2}: macro-F1 {result}")

# %%
fig, ax = plt.subplots(figsize=(7, 3.8))
for i, h in enumerate(widths):
    ax.plot(np.full(5, i), cv[h].scores, "o", color="C0", alpha=0.35, ms=4,
            label="one fold" if i == 0 else None)
ax.errorbar(range(len(widths)), [cv[h].mean for h in widths], yerr=[cv[h].std for h in widths],
            color="C3", marker="s", capsize=4, label="mean ± std over 5 folds")
ax.set(title="5-fold cross-validation of the hidden-layer width", xlabel="hidden units",
       ylabel="validation macro-F1", xticks=range(len(widths)), xticklabels=widths)
ax.grid(alpha=0.3)
ax.legend(loc="lower right")
plt.tight_layout()
plt.show()

# %% [markdown]
# With 1 to 4 hidden units the network is too small to separate ten digits; from 16
# on, the differences are well inside the error bars, so the cheaper model is as
# good a choice as any. `stratified_kfold` without shuffling
# reproduces scikit-learn's `StratifiedKFold` fold for fold:

# %%
from sklearn.model_selection import StratifiedKFold

ours = stratified_kfold(y_train, k=5, shuffle=False)
theirs = list(StratifiedKFold(5).split(X_train, y_train))
bml.check(all(np.array_equal(a[1], b[1]) for a, b in zip(ours, theirs, strict=True)), True,
          "same validation folds as StratifiedKFold")
bml.check(np.bincount(y_train.numpy()[ours[0][1]], minlength=10) * 5, np.bincount(y_train.numpy(), minlength=10),
          "fold 0 holds a fifth of each class", rtol=0, atol=4)

# %% [markdown]
# ## 6. Hyperparameter search: grid, random, Bayesian
#
# Which learning rate and weight decay? Each guess costs a training run, so the
# question is how to spend a budget of, say, 16 runs.
#
# - **Grid search** (网格搜索) tries every combination of a few values per hyperparameter:
#   4 × 4 = 16 runs, but only 4 distinct learning rates.
# - **Random search** (随机搜索) draws 16 independent points: 16 distinct learning rates. When
#   only some hyperparameters matter (usually), this covers them far better
#   (Bergstra and Bengio, 2012 [ref:bergstra2012]).
# - **Bayesian optimisation** (贝叶斯优化) fits a model of *score as a function of the
#   hyperparameters* to the runs so far and runs next where that model expects the
#   biggest gain.
#
# ### The surrogate: a Gaussian process
#
# A Gaussian process (GP) is a distribution over functions: any finite set of values
# $f(x_1), \dots, f(x_n)$ is jointly Gaussian with covariance given by a kernel. We
# use the RBF kernel, $k(x, x') = \sigma_f^2 \exp\!\big(-\lVert x - x'\rVert^2 / 2\ell^2\big)$,
# which says nearby points have similar scores; $\ell$ (length scale) sets how near
# is near. Given scores $y$ at points $X$ with noise variance $\sigma_n^2$, the
# prediction at a new point $x_*$ is Gaussian with
#
# $$\mu(x_*) = k_*^\top (K + \sigma_n^2 I)^{-1} y, \qquad
# \sigma^2(x_*) = k(x_*, x_*) - k_*^\top (K + \sigma_n^2 I)^{-1} k_*,$$
#
# where $K_{ij} = k(x_i, x_j)$ and $(k_*)_i = k(x_i, x_*)$. The inverse is never
# formed: `GaussianProcess` factors $K + \sigma_n^2 I = LL^\top$ (Cholesky, adding a
# tiny "jitter" to the diagonal if rounding makes it fail) and solves two triangular
# systems. Checked against scikit-learn's `GaussianProcessRegressor` with the same
# fixed kernel:

# %% tags=["nbval-ignore-output"]
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel


def toy(x):
    """A bumpy 1-D function to maximise on [0, 1] (pretend each call costs an hour)."""
    return np.sin(9 * x) * x + 0.4 * np.cos(3 * x)


X_obs = np.array([[0.05], [0.3], [0.55], [0.9]])
gp = GaussianProcess(length_scale=0.15, variance=1.0, noise=1e-4).fit(X_obs, toy(X_obs[:, 0]))
grid_x = np.linspace(0, 1, 200)[:, None]
mu, sigma = gp.predict(grid_x)
reference = GaussianProcessRegressor(ConstantKernel(1.0, "fixed") * RBF(0.15, "fixed"), alpha=1e-4,
                                     optimizer=None).fit(X_obs, toy(X_obs[:, 0]))
ref_mu, ref_sigma = reference.predict(grid_x, return_std=True)
bml.check(mu, ref_mu, "GP posterior mean", rtol=1e-9, atol=1e-9)
bml.check(sigma, ref_sigma, "GP posterior std", rtol=1e-9, atol=1e-9)
bml.check(gp.log_marginal_likelihood(), reference.log_marginal_likelihood_value_, "log marginal likelihood")

# %% [markdown]
# ### Where to look next: expected improvement
#
# With the best score so far $y^+$, the **improvement** of a new point is
# $\max(f(x) - y^+ - \xi,\ 0)$ (a small $\xi \ge 0$ asks for a real gain). Under the GP,
# $f(x) \sim \mathcal N(\mu, \sigma^2)$, and its expectation has a closed form:
#
# $$\mathrm{EI}(x) = (\mu - y^+ - \xi)\,\Phi(z) + \sigma\,\varphi(z), \qquad
# z = \frac{\mu - y^+ - \xi}{\sigma},$$
#
# with $\Phi$, $\varphi$ the standard normal cdf and density. The first term rewards a
# high mean (exploitation), the second a large uncertainty (exploration). Checked
# against the same formula written with SciPy's normal distribution:

# %% tags=["nbval-ignore-output"]
from scipy.stats import norm

best = toy(X_obs[:, 0]).max()
z = (mu - best - 0.01) / sigma
bml.check(expected_improvement(mu, sigma, best, xi=0.01),
          (mu - best - 0.01) * norm.cdf(z) + sigma * norm.pdf(z), "expected improvement", rtol=1e-9,
          atol=1e-12)

# %% [markdown]
# ### Explore: Bayesian optimisation, one step at a time
#
# `bayesian_optimization` repeats: fit the GP (choosing $\ell$ and $\sigma_n$ by the
# log marginal likelihood), evaluate the point of largest EI, add it to the data.
# Slide through the steps of a run on the toy function. Look for the two moods of EI:
# early on it is high wherever the GP knows little; once a good region is found, it
# concentrates there.

# %%
bo_toy = bayesian_optimization(lambda p: toy(p["x"]), {"x": Uniform(0, 1)}, n_trials=12, n_initial=3,
                               seed=1)
xs_toy = np.array([p["x"] for p in bo_toy.params])


def draw_bo_step(step=3):
    """The GP and EI after `step` trials, and the point the search tried next."""
    X_seen, y_seen = xs_toy[:step, None], bo_toy.scores[:step]
    scale = y_seen.std() if y_seen.std() > 0 else 1.0
    surrogate = fit_gp(X_seen, (y_seen - y_seen.mean()) / scale)
    m, s = surrogate.predict(grid_x)
    ei = expected_improvement(m, s, best=(y_seen.max() - y_seen.mean()) / scale, xi=0.01)
    m, s = y_seen.mean() + scale * m, scale * s
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 4.8), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    top.plot(grid_x, toy(grid_x[:, 0]), "k--", lw=1, label="true function (unknown)")
    top.plot(grid_x, m, color="C0", label="GP mean")
    top.fill_between(grid_x[:, 0], m - 2 * s, m + 2 * s, color="C0", alpha=0.2, label="mean ± 2 std")
    top.plot(X_seen, y_seen, "o", color="k", label=f"{step} trials so far")
    top.set(title=f"after {step} trials (length scale {surrogate.length_scale})", ylabel="score")
    top.legend(loc="lower left", fontsize=8)
    bottom.plot(grid_x, ei, color="C2", label="expected improvement")
    if step < len(xs_toy):
        for ax in (top, bottom):
            ax.axvline(xs_toy[step], color="C3", ls=":", label="next trial" if ax is bottom else None)
    bottom.set(xlabel="x (the hyperparameter)", ylabel="EI")
    bottom.legend(loc="upper left", fontsize=8)
    plt.tight_layout()
    plt.show()


# %% tags=["nbval-ignore-output"]
_ = widgets.interact(draw_bo_step, step=widgets.IntSlider(value=3, min=3, max=len(xs_toy), description="trials"))

# %% [markdown]
# ### The race: same budget, three strategies
#
# Now the real thing. The objective trains the perceptron with a given learning rate
# and weight decay on 3/4 of the training set and returns the cross-entropy on the
# other quarter (lower is better; a smoother target than accuracy, which moves in
# steps). A run that diverges (`fit` stops it with a `NonFiniteLossError`) gets the
# loss of a uniform guess, $\log 10$: a search must give every trial a score. Random and Bayesian search depend on their
# seed, so we run them a few times.

# %%
inner_train, inner_val = stratified_kfold(y_train, k=4, seed=1)[0]


def validation_loss(params):
    try:
        model = train_mlp(X_train[inner_train], y_train[inner_train], lr=params["lr"],
                          weight_decay=params["weight_decay"], epochs=60)
    except NonFiniteLossError:
        return float(np.log(10))
    with torch.no_grad():
        loss = F.cross_entropy(model(X_train[inner_val]), y_train[inner_val]).item()
    return loss if np.isfinite(loss) else float(np.log(10))


space = {"lr": LogUniform(1e-4, 1.0), "weight_decay": LogUniform(1e-5, 1.0)}
budget, repeats = 16, bml.pick(default=3, gpu=10)

# %% tags=["nbval-ignore-output"]
searches = {"grid": [grid_search(validation_loss, space, points=4, maximize=False)]}
searches["random"] = [random_search(validation_loss, space, budget, seed=s, maximize=False)
                      for s in progress(range(repeats), desc="random")]
searches["Bayesian"] = [bayesian_optimization(validation_loss, space, budget, seed=s, maximize=False)
                        for s in progress(range(repeats), desc="Bayesian")]
for name, runs in searches.items():
    print(f"{name:>8}: best validation loss {np.mean([r.best_score for r in runs]):.3f} "
          f"(mean of {len(runs)} run{'s' * (len(runs) > 1)})")

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
for (name, runs), color in zip(searches.items(), ["C0", "C1", "C2"], strict=True):
    curves = np.array([r.best_so_far() for r in runs])
    trials = np.arange(1, budget + 1)
    for curve in curves:
        axes[0].plot(trials, curve, color=color, alpha=0.25, lw=1)
    axes[0].plot(trials, curves.mean(axis=0), color=color, lw=2.5, label=f"{name} (mean of {len(runs)})")
    first = runs[0]
    axes[1].scatter([p["lr"] for p in first.params], [p["weight_decay"] for p in first.params],
                    color=color, s=25, alpha=0.8, label=name)
lowest = min(r.best_score for runs in searches.values() for r in runs)
axes[0].set(title=f"best so far, {budget} trials each (axis cut at 0.5)", xlabel="trial",
            ylabel="best validation loss", ylim=(0.9 * lowest, 0.5))
axes[1].set(title="where each search looked (first run)", xlabel="learning rate",
            ylabel="weight decay", xscale="log", yscale="log")
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# The grid spends its 16 runs on only 4 learning rates, and the learning rate is the
# hyperparameter that matters most here; random search tries 16. Bayesian search
# starts like random search (its first 5 trials are random) and then concentrates its
# trials around the good learning rates. On a 2-D problem with 16 trials the margin
# is modest; it grows with the number of hyperparameters and the cost of each trial.
#
# ## 7. Ensembles: many models beat one
#
# Train $m$ models and average their predicted probabilities. If each model's
# prediction has variance $\sigma^2$ and two models' predictions are correlated by
# $\rho$, the average has variance
#
# $$\operatorname{Var}\Big(\frac1m \sum_{j=1}^m p_j\Big) = \rho\,\sigma^2 + \frac{1-\rho}{m}\,\sigma^2 .$$
#
# The part on which the models disagree shrinks like $1/m$; what they share
# ($\rho\sigma^2$) stays. To give the members something to disagree about we use
# **bagging** (装袋法) of Breiman (1996) [ref:breiman1996]: each member trains on its own *bootstrap sample* ($n$
# images drawn with replacement from the same $n$) with its own seed. And we keep the
# data small (about 100 images), where single models vary a lot.

# %% tags=["nbval-ignore-output"]
small = stratified_kfold(y_train, k=6, seed=2)[0][1]  # a sixth of the training set
n_members = bml.pick(default=16, gpu=32)
member_probs = []
for s in progress(range(n_members), desc="members"):
    rows = np.random.default_rng(s).choice(small, size=len(small))  # a bootstrap sample
    member = train_mlp(X_train[rows], y_train[rows], epochs=150, seed=s)
    member_probs.append(predict_proba(member, X_test))
print(f"{n_members} members, each trained on a bootstrap sample of {len(small)} images")

# %% [markdown]
# How good is an ensemble of $m$ members? It depends on which members, so we average
# over 20 random orders of the members. Accuracy on the left; on the right the test
# cross-entropy, which also sees how *confident* the predictions are.

# %%
def test_loss(p):
    return float(-np.mean(np.log(p[np.arange(len(y_test)), y_test] + 1e-12)))


sizes = np.arange(1, n_members + 1)
orders = [np.random.default_rng(i).permutation(n_members) for i in range(20)]


def ensemble_curve(score, combine):
    """Mean score of the ensemble of the first m members, over the random orders."""
    return np.mean([[score(combine([member_probs[j] for j in o[:m]])) for m in sizes]
                    for o in orders], axis=0)


soft = lambda ps: average_probabilities(ps)
hard = lambda ps: np.eye(10)[majority_vote([p.argmax(1) for p in ps], num_classes=10)]
acc = lambda p: accuracy(y_test, p.argmax(1))

fig, axes = plt.subplots(1, 2, figsize=(12, 4))
axes[0].plot(np.ones(n_members), [acc(p) for p in member_probs], "o", color="gray", alpha=0.5,
             label="single models")
axes[0].plot(sizes, ensemble_curve(acc, soft), "-o", ms=3, color="C0", label="averaging probabilities")
axes[0].plot(sizes, ensemble_curve(acc, hard), "-s", ms=3, color="C1", label="majority vote")
axes[0].set(title="test accuracy", xlabel="models in the ensemble", ylabel="accuracy")
axes[1].plot(np.ones(n_members), [test_loss(p) for p in member_probs], "o", color="gray", alpha=0.5,
             label="single models")
axes[1].plot(sizes, ensemble_curve(test_loss, soft), "-o", ms=3, color="C0",
             label="averaging probabilities")
axes[1].set(title="test cross-entropy (lower is better)", xlabel="models in the ensemble",
            ylabel="cross-entropy (nats)")
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right" if ax is axes[0] else "upper right")
plt.tight_layout()
plt.show()

# %% [markdown]
# Every ensemble of two or more beats the typical member, and the gain flattens after
# a handful. Averaging probabilities (soft voting) beats the majority vote, most
# clearly for small ensembles: it keeps how sure each model was. (A vote cannot
# express confidence, so it has no useful cross-entropy.)
#
# To see the variance itself shrink: take a test image, look at the probability each
# member gives its true class, and measure how much that number varies from member
# to member; then do the same for ensembles of 4 (disjoint groups of members). Given
# the ~100 images, each member's randomness (its bootstrap sample and its seed) is
# independent of the others', so for this variance $\rho = 0$ and averaging 4 should
# divide it by 4. What all members get wrong together (from the small data set they
# all come from, and the architecture) is not part of this variance, and no amount of
# averaging removes it.

# %% tags=["nbval-ignore-output"]
p_true = np.array([p[np.arange(len(y_test)), y_test] for p in member_probs])  # (members, images)
groups = p_true[: n_members // 4 * 4].reshape(-1, 4, len(y_test)).mean(axis=1)  # (groups, images)
var_single = p_true.var(axis=0, ddof=1).mean()  # across members, averaged over images
var_group = groups.var(axis=0, ddof=1).mean()
print(f"variance of p(true class) across single models: {var_single:.4f}")
print(f"the same across ensembles of 4:                 {var_group:.4f}")
print(f"the formula with rho = 0, variance / 4:         {var_single / 4:.4f}")

# %% [markdown]
# ## Pitfalls
#
# ### 1. Unshuffled k-fold on sorted data
#
# Datasets often arrive sorted (by class, by date, by source). Plain k-fold without
# shuffling then validates on classes the model never saw:

# %% tags=["nbval-ignore-output"]
order = np.argsort(y_train.numpy(), kind="stable")
X_sorted, y_sorted = X_train[order], y_train[order]


def accuracy_fn(X_tr, y_tr, X_val, y_val):
    return accuracy(y_val, predict_proba(train_mlp(X_tr, y_tr), X_val).argmax(1))


wrong = cross_validate(accuracy_fn, X_sorted, y_sorted, k=5, stratified=False, shuffle=False)
print("plain k-fold, not shuffled:", np.round(wrong.scores, 2))

# %% [markdown]
# Each validation fold holds digits that are (nearly) missing from its training
# folds. The fix: shuffle, and stratify for classification.

# %% tags=["nbval-ignore-output"]
right = cross_validate(accuracy_fn, X_sorted, y_sorted, k=5, stratified=True, shuffle=True, seed=0)
print("stratified and shuffled:   ", np.round(right.scores, 2))
bml.check(bool(right.mean > wrong.mean + 0.3), True, "shuffling repairs the folds")

# %% [markdown]
# ### 2. Macro-F1 is not the F1 of macro precision and macro recall
#
# Some write-ups compute the harmonic mean of the averaged precision and recall.
# That is a different number (Opitz and Burst, 2019 [ref:opitz2019]), and not what scikit-learn or
# papers call macro-F1:

# %%
toy_true = np.array([0] * 10 + [1])  # ten 0s and one 1
toy_pred = np.array([0] + [1] * 10)  # finds one 0, calls everything else 1
P, R, F1, _ = precision_recall_f1(toy_true, toy_pred, average="macro")
print(f"wrong: 2PR/(P+R) of macro P and R = {2 * P * R / (P + R):.3f}")
print(f"right: mean of per-class F1       = {F1:.3f}")
bml.check(F1, skm.f1_score(toy_true, toy_pred, average="macro"), "macro-F1 as scikit-learn defines it")

# %% [markdown]
# ### 3. Picking the best on the data you report
#
# Choose the best of many models on a validation set and its validation score is
# optimistic: part of why it won is luck. Here the extreme case: 200 "models" that
# guess at random on a binary task, judged on 50 validation examples.

# %%
rng = np.random.default_rng(3)
y_val_coin, y_test_coin = rng.integers(0, 2, 50), rng.integers(0, 2, 1000)
guessers = rng.integers(0, 2**31, 200)  # each "model" is a seed for its random guesses
val_scores = [accuracy(y_val_coin, np.random.default_rng(s).integers(0, 2, 50)) for s in guessers]
winner = guessers[int(np.argmax(val_scores))]
test_score = accuracy(y_test_coin, np.random.default_rng(winner + 1).integers(0, 2, 1000))
print(f"best validation accuracy of 200 coin flippers: {max(val_scores):.2f}")
print(f"the same 'model' on fresh test data:           {test_score:.2f}")

# %% [markdown]
# The winner looks far better than chance on the data that chose it and is a coin
# flip on new data. The fix: choose on validation data (or cross-validation), then
# report on a test set that played no part in any choice, once. The searches above
# followed that rule: they never saw the test set.
#
# ### 4. AUC from labels instead of scores
#
# Passing predicted labels (after the threshold) instead of scores collapses the ROC
# curve to a single corner and throws away the ranking:

# %% tags=["nbval-ignore-output"]
weak_scores = probs["weak (10 epochs)"][:, 9]
print(f"AUC from labels (score >= 0.5): {roc_auc(is_nine, (weak_scores >= 0.5).astype(float)):.3f}")
print(f"AUC from scores:                {roc_auc(is_nine, weak_scores):.3f}")

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** A three-class classifier has this confusion matrix (rows: true,
# columns: predicted): `[[50, 3, 2], [10, 20, 0], [5, 5, 5]]`. Compute the per-class
# precision and recall and the macro-F1 with NumPy, from the matrix alone. Check it
# against scikit-learn's `f1_score` on labels rebuilt from the matrix.
#
# **Exercise 2.** Compute the ROC AUC of the weak model's nine-scores
# (`probs["weak (10 epochs)"][:, 9]`) as the fraction of (positive, negative) pairs in
# which the positive scores higher, counting ties as one half. Check against
# `skm.roc_auc_score`.
#
# **Exercise 3.** Which threshold on the strong model's nine-scores maximises F1? Use
# the output of `precision_recall_curve` (F1 at each threshold), then check the F1 at
# your threshold with `skm.f1_score` and that no threshold among the scores does
# better.
#
# **Exercise 4.** Check the ensemble formula by simulation: draw 100,000 sets of
# $m = 5$ Gaussian predictions with variance $\sigma^2 = 1$ and pairwise correlation
# $\rho = 0.3$ (hint: a shared part $\sqrt{\rho}\,z_0$ plus a private part
# $\sqrt{1-\rho}\,z_j$), average each set, and compare the variance of the averages with
# $\rho\sigma^2 + (1-\rho)\sigma^2/m$.

# %% [markdown]
# ### Solutions
# Expand the hidden cells to see them.

# %% jupyter={"source_hidden": true}
# Exercise 1: precision divides the diagonal by column sums, recall by row sums.
C = np.array([[50, 3, 2], [10, 20, 0], [5, 5, 5]])
tp_ex = np.diag(C)
precision_ex = tp_ex / C.sum(axis=0)
recall_ex = tp_ex / C.sum(axis=1)
macro_f1_ex = np.mean(2 * precision_ex * recall_ex / (precision_ex + recall_ex))
true_labels = np.repeat(np.repeat(np.arange(3), 3), C.ravel())  # row i repeated C[i, j] times
pred_labels = np.repeat(np.tile(np.arange(3), 3), C.ravel())
print("precision", precision_ex.round(3), "recall", recall_ex.round(3))
bml.check(macro_f1_ex, skm.f1_score(true_labels, pred_labels, average="macro"), "macro-F1 from the matrix")

# %% jupyter={"source_hidden": true} tags=["nbval-ignore-output"]
# Exercise 2: compare every positive with every negative.
s = probs["weak (10 epochs)"][:, 9]
pos, neg = s[is_nine][:, None], s[~is_nine][None, :]
auc_pairs = np.mean((pos > neg) + 0.5 * (pos == neg))
bml.check(auc_pairs, skm.roc_auc_score(is_nine, s), "AUC as a probability of correct ranking")

# %% jupyter={"source_hidden": true} tags=["nbval-ignore-output"]
# Exercise 3: F1 at every threshold of the PR curve (the last point has no threshold).
s = probs["strong (100 epochs)"][:, 9]
prec_ex, rec_ex, thr_ex = precision_recall_curve(is_nine, s)
f1_curve = 2 * prec_ex[:-1] * rec_ex[:-1] / np.maximum(prec_ex[:-1] + rec_ex[:-1], 1e-12)
best_t = thr_ex[np.argmax(f1_curve)]
brute = max(skm.f1_score(is_nine, s >= t) for t in np.unique(s))
print(f"best threshold {best_t:.4f}")
bml.check(f1_curve.max(), skm.f1_score(is_nine, s >= best_t), "F1 at the chosen threshold")
bml.check(f1_curve.max(), brute, "no threshold does better")

# %% jupyter={"source_hidden": true}
# Exercise 4: shared part + private part gives correlation rho between any two models.
rng_ex = np.random.default_rng(4)
m, rho_ex, n = 5, 0.3, 100_000
z0 = rng_ex.standard_normal((n, 1))
preds = np.sqrt(rho_ex) * z0 + np.sqrt(1 - rho_ex) * rng_ex.standard_normal((n, m))
bml.check(preds.mean(axis=1).var(), rho_ex + (1 - rho_ex) / m, "variance of the average", rtol=0.02)

# %% [markdown]
# ## Summary
# - Accuracy hides what happens to rare classes; report precision, recall and F1 per
#   class, with macro (every class counts) and micro/weighted (every sample counts)
#   averages. "Per-class accuracy" computed one-vs-rest is dominated by true
#   negatives: avoid it.
# - The confusion matrix is where every such number comes from; ROC and PR curves
#   show all thresholds at once, and on imbalanced data the PR curve is the honest
#   one. The threshold is a choice.
# - k-fold cross-validation (stratified, shuffled) estimates performance from
#   training data, with an error bar from the spread over folds.
# - On the same budget random search beats grid search when few hyperparameters
#   matter; Bayesian optimisation (a GP surrogate plus expected improvement) spends
#   trials where they are likely to pay.
# - Averaging the probabilities of several models cuts the variance that they do not
#   share.
#
# **Further reading:**
# [scikit-learn: metrics and scoring](https://scikit-learn.org/stable/modules/model_evaluation.html);
# T. Saito and M. Rehmsmeier, *The precision-recall plot is more informative than the
# ROC plot when evaluating binary classifiers on imbalanced datasets* (PLOS ONE, 2015) [ref:saito2015];
# J. Opitz and S. Burst, *Macro F1 and Macro F1* (2019) [ref:opitz2019];
# J. Bergstra and Y. Bengio, *Random search for hyper-parameter optimization* (JMLR, 2012) [ref:bergstra2012];
# J. Snoek, H. Larochelle and R. Adams, *Practical Bayesian optimization of machine
# learning algorithms* (NeurIPS, 2012) [ref:snoek2012];
# C. Rasmussen and C. Williams, [*Gaussian Processes for Machine Learning*](http://gaussianprocess.org/gpml/) (2006), chapter 2 [ref:rasmussen2006];
# B. Lakshminarayanan et al., *Simple and scalable predictive uncertainty estimation
# using deep ensembles* (NeurIPS, 2017) [ref:lakshminarayanan2017].
# Next: chapter 07, classifying news text from scratch, where these metrics judge a
# BiLSTM.

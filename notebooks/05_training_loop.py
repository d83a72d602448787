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
# # 05 · The training loop
# *中文：训练循环*
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/bigmodel-course/bigmodel-course/blob/main/notebooks/05_training_loop.ipynb)
#
# Every model in this course, from a two-layer perceptron to BERT, is trained by the
# same loop of five steps. This chapter writes the loop out by hand, then hands it to
# the library's `fit`, which adds what a careful practitioner wraps around it.
#
# **You will learn**
# - the five steps (initialise, forward, loss, backward, update), by hand and with `fit`;
# - how to clean and scale tabular data *without leaking* validation data into training;
# - why binary classification wants one logit (sigmoid + BCE) or two (softmax + CE), never two sigmoids;
# - how mini-batches and learning-rate schedules shape training;
# - how to watch, stop early, checkpoint, interrupt and resume a run, bit for bit.

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

device = bml.setup(seed=0, threads=None)

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

import tempfile
from pathlib import Path

import torch.nn.functional as F
from torch import nn

from bigmodel_lib.data import Imputer, OutlierClipper, Standardizer, make_tabular, train_val_split
from bigmodel_lib.plots import plot_curves
from bigmodel_lib.train import NonFiniteLossError, fit, load_checkpoint, predict

torch.set_printoptions(precision=4)

# %% [markdown]
# ## 1. Intuition: a line that walks to the data
#
# Before any formula, watch the loop work on the smallest problem there is: fit a line
# $\hat y = w x + b$ to 30 noisy points. Each step nudges $w$ and $b$ downhill on the
# mean squared error. The left panel shows the line after 0, 1, 3, 10 and 60 steps;
# the right panel shows the loss falling.

# %%
g = torch.Generator().manual_seed(0)
x_line = torch.linspace(-2, 2, 30)
y_line = 1.5 * x_line - 0.5 + 0.4 * torch.randn(30, generator=g)

w, b = torch.zeros(()), torch.zeros(())            # 1. initialise
lr, snapshots, line_losses = 0.1, {}, []
for step in range(61):
    y_hat = w * x_line + b                          # 2. forward
    loss = ((y_hat - y_line) ** 2).mean()           # 3. loss
    grad_w = (2 * (y_hat - y_line) * x_line).mean()  # 4. backward (by hand here)
    grad_b = (2 * (y_hat - y_line)).mean()
    line_losses.append(loss.item())
    if step in (0, 1, 3, 10, 60):
        snapshots[step] = (w.item(), b.item())
    w, b = w - lr * grad_w, b - lr * grad_b         # 5. update
print(f"after 60 steps: w = {snapshots[60][0]:.3f}, b = {snapshots[60][1]:.3f} (data made with w=1.5, b=-0.5)")

# %% tags=["nbval-ignore-output"]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
ax1.scatter(x_line, y_line, s=12, color="k", label="data")
for i, (step, (ws, bs)) in enumerate(snapshots.items()):
    ax1.plot(x_line, ws * x_line + bs, color=plt.cm.viridis(i / 4), label=f"after {step} steps")
ax1.set(title="the line after k gradient steps", xlabel="x", ylabel="y")
ax1.legend(fontsize=8)
ax2.plot(line_losses)
ax2.set(title="mean squared error during training", xlabel="step", ylabel="MSE", yscale="log")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 2. The five steps
#
# Training adjusts parameters $\theta$ so that a model $f_\theta$ predicts targets $y$
# from inputs $x$. With a learning rate $\eta$ and a batch $B$ of examples, each step is:
#
# 1. **initialise** (once): draw $\theta_0$ at random (small, scaled to the layer's width);
# 2. **forward**: compute predictions $\hat y_i = f_\theta(x_i)$ for $i \in B$;
# 3. **loss**: $L(\theta) = \frac{1}{|B|}\sum_{i\in B} \ell(\hat y_i, y_i)$, one number saying how wrong they are;
# 4. **backward**: the gradient $g = \nabla_\theta L(\theta)$, by the chain rule (backpropagation);
# 5. **update**: $\theta \leftarrow \theta - \eta\, g$ (or Adam's update from chapter 03).
#
# ### The data: 100 examples, 5 features, two classes
#
# `make_tabular` builds a small table whose label is an XOR: class 1 when the first
# two features have the same sign (two opposite quadrants), class 0 otherwise. No
# straight line separates the classes; a two-layer perceptron can bend its boundary. Its features have wildly
# different scales, like real tables (a price in euros next to a rate in percent).

# %%
X, y = make_tabular(n=100, n_features=5, seed=0)
print("X:", tuple(X.shape), X.dtype, "  y:", tuple(y.shape), y.dtype, f"  share of class 1: {y.float().mean():.2f}")
print("feature std:", X.std(0))

X_tr, X_val, y_tr, y_val = train_val_split(X, y, val_fraction=0.2, seed=0, stratify=True)
scaler = Standardizer()
Z_tr = scaler.fit_transform(X_tr)   # statistics from the training rows only
Z_val = scaler.transform(X_val)     # ... applied unchanged to the validation rows
print("train:", len(Z_tr), "rows;  validation:", len(Z_val), "rows")

# %% [markdown]
# ### A two-layer perceptron, every step by hand
#
# The model has a hidden layer of $H$ ReLU units and **one output logit** $z$:
#
# $$a = X W_1 + b_1,\qquad h = \max(a, 0),\qquad z = h W_2 + b_2,\qquad p = \sigma(z) = \frac{1}{1+e^{-z}}$$
#
# where $X$ is the $N\times 5$ batch, $W_1$ ($5\times H$) and $b_1$ the first layer,
# $W_2$ ($H\times 1$) and $b_2$ the second, and $p$ the predicted probability of
# class 1. The loss is the binary cross-entropy (chapter 02),
# $L = -\frac1N\sum_i \big[y_i \log p_i + (1-y_i)\log(1-p_i)\big]$, computed from
# $z$ directly for numerical stability (`binary_cross_entropy_with_logits`).
#
# Backpropagation applies the chain rule from the loss back to each parameter. The
# sigmoid and the cross-entropy combine into a beautifully simple first factor:
#
# $$\frac{\partial L}{\partial z_i} = \frac{p_i - y_i}{N},\quad
# \frac{\partial L}{\partial W_2} = h^\top \frac{\partial L}{\partial z},\quad
# \frac{\partial L}{\partial h} = \frac{\partial L}{\partial z} W_2^\top,\quad
# \frac{\partial L}{\partial a} = \frac{\partial L}{\partial h}\odot \mathbb 1[a>0],\quad
# \frac{\partial L}{\partial W_1} = X^\top \frac{\partial L}{\partial a}$$
#
# and the bias gradients are the column sums of $\partial L/\partial z$ and $\partial L/\partial a$.

# %% tags=["nbval-ignore-output"]
H = 16


def init_params(seed=0):
    """Step 1: He initialisation for the ReLU layer, 1/sqrt(H) scaling for the output layer."""
    gen = torch.Generator().manual_seed(seed)
    W1 = torch.randn(5, H, generator=gen) * (2 / 5) ** 0.5
    b1 = torch.zeros(H)
    W2 = torch.randn(H, 1, generator=gen) * (1 / H) ** 0.5
    b2 = torch.zeros(1)
    return [W1, b1, W2, b2]


def forward(params, X):
    """Step 2: the logit z, one per row (and the hidden pre-activations, for backward)."""
    W1, b1, W2, b2 = params
    a = X @ W1 + b1
    h = torch.relu(a)
    return (h @ W2 + b2).squeeze(1), a, h


def backward_by_hand(params, X, y):
    """Step 4 written out with the chain rule above."""
    W1, b1, W2, b2 = params
    z, a, h = forward(params, X)
    dz = (torch.sigmoid(z) - y) / len(X)          # (N,)
    dW2 = h.T @ dz[:, None]
    db2 = dz.sum(0, keepdim=True)
    dh = dz[:, None] @ W2.T
    da = dh * (a > 0)
    dW1 = X.T @ da
    db1 = da.sum(0)
    return [dW1, db1, dW2, db2]


params = [p.requires_grad_() for p in init_params()]
z, _, _ = forward(params, Z_tr)
loss = F.binary_cross_entropy_with_logits(z, y_tr.float())   # step 3
loss.backward()                                             # step 4, by autograd
by_hand = backward_by_hand([p.detach() for p in params], Z_tr, y_tr.float())
for name, p, mine in zip(["W1", "b1", "W2", "b2"], params, by_hand, strict=True):
    bml.check(mine, p.grad, f"gradient of {name} by hand = autograd", rtol=1e-4, atol=1e-6)

# %% [markdown]
# Now the whole loop: 300 full-batch steps of plain gradient descent.

# %%
lr, epochs = 0.5, 300
params = [p.requires_grad_() for p in init_params()]
hand_losses = []
for _ in range(epochs):
    z, _, _ = forward(params, Z_tr)                                  # 2. forward
    loss = F.binary_cross_entropy_with_logits(z, y_tr.float())      # 3. loss
    for p in params:                                                # 4. backward
        p.grad = None   # gradients ADD UP in PyTorch: clear them first
    loss.backward()
    with torch.no_grad():                                           # 5. update
        for p in params:
            p -= lr * p.grad
    hand_losses.append(loss.item())

with torch.no_grad():
    val_acc = ((forward(params, Z_val)[0] > 0).long() == y_val).float().mean().item()
print(f"training loss {hand_losses[0]:.3f} -> {hand_losses[-1]:.3f};  validation accuracy {val_acc:.2f}")

# %% [markdown]
# ### The same with `nn.Module` and `fit`
#
# `fit(model, (X, y), loss_fn, optimizer, epochs)` runs exactly those steps: with one
# full batch, no shuffling and plain SGD, it must end with the same weights as our hand
# loop. We copy the hand loop's initial weights into an `nn.Sequential` (PyTorch's
# `nn.Linear` stores $W^\top$) and compare.

# %%
class TwoLayerPerceptron(nn.Module):
    """5 features -> H ReLU units -> one logit per row."""

    def __init__(self, n_features=5, hidden=H, n_outputs=1):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_outputs))

    def forward(self, x):
        out = self.net(x)
        return out.squeeze(-1) if out.shape[-1] == 1 else out


def perceptron_from(params):
    model = TwoLayerPerceptron()
    with torch.no_grad():
        W1, b1, W2, b2 = params
        model.net[0].weight.copy_(W1.T)
        model.net[0].bias.copy_(b1)
        model.net[2].weight.copy_(W2.T)
        model.net[2].bias.copy_(b2)
    return model


def accuracy(logits, targets):
    """Share of rows whose logit has the sign of the class (1 if z > 0)."""
    return ((logits > 0).long() == targets.long()).float().mean().item()


# %% tags=["nbval-ignore-output"]
model = perceptron_from(init_params())
history = fit(model, (Z_tr, y_tr.float()), nn.BCEWithLogitsLoss(), torch.optim.SGD(model.parameters(), lr=0.5),
              epochs=300, batch_size=len(Z_tr), shuffle=False, val_data=(Z_val, y_val.float()),
              metrics={"accuracy": accuracy})

# %% tags=["nbval-ignore-output"]
trained = [params[0].T, params[1], params[2].T, params[3]]
for (name, p), mine in zip(model.named_parameters(), trained, strict=True):
    bml.check(p, mine, f"fit = hand loop: {name}", rtol=1e-4, atol=1e-5)
_ = bml.check(torch.tensor(history["train_loss"]), torch.tensor(hand_losses),
              "fit's per-epoch training loss = hand loop", rtol=1e-4)

# %% [markdown]
# Does the hidden layer earn its keep? A linear model (logistic regression: one
# `nn.Linear(5, 1)`, no hidden layer) trained the same way cannot draw the XOR
# boundary:

# %% tags=["nbval-ignore-output"]
torch.manual_seed(0)
linear = nn.Sequential(nn.Linear(5, 1), nn.Flatten(0))   # Flatten(0): (N, 1) -> (N,)
h_linear = fit(linear, (Z_tr, y_tr.float()), nn.BCEWithLogitsLoss(), torch.optim.SGD(linear.parameters(), lr=0.5),
               epochs=300, batch_size=len(Z_tr), shuffle=False, val_data=(Z_val, y_val.float()),
               metrics={"accuracy": accuracy})

# %%
print(f"validation accuracy after 300 epochs: two-layer perceptron {history['val_accuracy'][-1]:.2f}, "
      f"linear model {h_linear['val_accuracy'][-1]:.2f}")

# %% [markdown]
# `fit` returns a `History`: lists with one value per epoch, plus `best_epoch`,
# `stopped_early` and `stop_reason`:

# %% tags=["nbval-ignore-output"]
print({key: len(values) for key, values in history.items()})
print("best epoch by validation loss:", history.best_epoch, "| stop reason:", history.stop_reason)
plot_curves({"train loss": history["train_loss"], "validation loss": history["val_loss"]},
            title="two-layer perceptron, full-batch gradient descent (lr 0.5)", ylabel="binary cross-entropy")
plt.show()

# %% [markdown]
# ## 3. One logit or two? (and never two sigmoids)
#
# A binary classifier can end in
#
# - **one logit** $z$, with $p(y{=}1) = \sigma(z)$ and binary cross-entropy (`BCEWithLogitsLoss`), or
# - **two logits** $(z_0, z_1)$, with $p = \mathrm{softmax}(z)$ and cross-entropy (`CrossEntropyLoss`).
#
# They are the same model family: $\mathrm{softmax}(z)_1 = \frac{e^{z_1}}{e^{z_0}+e^{z_1}} = \sigma(z_1 - z_0)$,
# so only the difference of the two logits matters, and two logits spend a few extra
# parameters to say what one says. Numerically, cross-entropy on $(0, z)$ *is* BCE on $z$:

# %% tags=["nbval-ignore-output"]
z_demo = torch.tensor([-3.0, -0.5, 0.0, 2.0, 7.0])
t_demo = torch.tensor([0, 1, 1, 0, 1])
ce_two = F.cross_entropy(torch.stack([torch.zeros(5), z_demo], dim=1), t_demo)
bce_one = F.binary_cross_entropy_with_logits(z_demo, t_demo.float())
print(f"cross-entropy on (0, z): {ce_two:.6f}   binary cross-entropy on z: {bce_one:.6f}")
_ = bml.check(ce_two, bce_one, "CE on logits (0, z) = BCE on z")

# %% [markdown]
# **Two sigmoid outputs** (two logits, each through its own sigmoid, trained with BCE
# on one-hot targets) is the wrong choice: it models two *independent* yes/no
# questions ("is it class 0?", "is it class 1?"), which is multi-label
# classification. Nothing makes the two probabilities sum to one, so the model can
# say "80 % class 0 and 70 % class 1" or "10 % and 15 %", and it has no single
# calibrated probability to report. Let us train one and look.

# %% tags=["nbval-ignore-output"]
two_sigmoids = TwoLayerPerceptron(n_outputs=2)
onehot_tr = F.one_hot(y_tr, 2).float()
_ = fit(two_sigmoids, (Z_tr, onehot_tr), nn.BCEWithLogitsLoss(), torch.optim.Adam(two_sigmoids.parameters(), lr=0.01),
        epochs=100, batch_size=16, seed=0)
softmax_model = TwoLayerPerceptron(n_outputs=2)
_ = fit(softmax_model, (Z_tr, y_tr), nn.CrossEntropyLoss(), torch.optim.Adam(softmax_model.parameters(), lr=0.01),
        epochs=100, batch_size=16, seed=0)

# %% tags=["nbval-ignore-output"]
grid = 2 * torch.randn(2000, 5, generator=torch.Generator().manual_seed(1))  # new inputs, some far out
p_sig = torch.sigmoid(predict(two_sigmoids, grid))
p_soft = torch.softmax(predict(softmax_model, grid), dim=1)
fig, ax = plt.subplots(figsize=(5.2, 4.6))
ax.scatter(p_soft[:, 0], p_soft[:, 1], s=6, color="C1", label="softmax (all on the line)")
ax.scatter(p_sig[:, 0], p_sig[:, 1], s=6, alpha=0.5, color="C0", label="two sigmoids")
ax.plot([0, 1], [1, 0], "k--", lw=1, label="p0 + p1 = 1")
ax.set(title="the two class probabilities, 2000 new inputs", xlabel="p(class 0)", ylabel="p(class 1)",
       xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), aspect="equal")
ax.legend(loc="upper right", fontsize=8)
plt.show()
sums = p_sig.sum(1)
bml.check(p_soft.sum(1), torch.ones(2000), "softmax probabilities sum to 1", atol=1e-6)
bml.check(bool((sums - 1).abs().max() > 0.05), True, "two sigmoids do not")
print(f"two sigmoids: p0 + p1 ranges over [{sums.min():.1f}, {sums.max():.1f}]")

# %% [markdown]
# Where the training data lies, training pushed the two heads to agree; elsewhere
# nothing ties them together, and the model contradicts itself. With softmax the
# constraint is built in, and with one logit there is nothing to contradict.

# %% [markdown]
# ## 4. Preprocessing without leakage
#
# Real tables have missing values and outliers, and features on different scales.
# The recipe, in order, each step **fitted on the training split only**:
#
# 1. split first (`train_val_split`, reproducible with a seed);
# 2. missing values: drop the rows (`drop_missing`) or impute a training statistic (`Imputer`; the median resists outliers);
# 3. outliers: clip to fences from the training quartiles (`OutlierClipper`, Tukey's $[Q_1 - 1.5\,\mathrm{IQR},\ Q_3 + 1.5\,\mathrm{IQR}]$);
# 4. scale: standardize $z = (x-\mu)/\sigma$ (`Standardizer`) or min-max to $[0, 1]$ (`MinMaxScaler`).

# %%
X_dirty, y_dirty = make_tabular(n=100, n_features=5, seed=0, missing_fraction=0.05, outlier_fraction=0.05)
print("missing values per column:", torch.isnan(X_dirty).sum(0).tolist())
Xd_tr, Xd_val, yd_tr, yd_val = train_val_split(X_dirty, y_dirty, val_fraction=0.2, seed=0, stratify=True)

imputer, clipper, standardizer = Imputer("median"), OutlierClipper("iqr"), Standardizer()
clean_tr = standardizer.fit_transform(clipper.fit_transform(imputer.fit_transform(Xd_tr)))
clean_val = standardizer.transform(clipper.transform(imputer.transform(Xd_val)))
print("outlier rows clipped in train:", int(clipper.outliers(imputer.transform(Xd_tr)).sum()))
print("train means after scaling:", clean_tr.mean(0).numpy().round(2) + 0.0)
print("validation means (not exactly 0, and that is right):", clean_val.mean(0).numpy().round(2) + 0.0)

# %% [markdown]
# Why does scaling matter? Gradient descent takes one learning rate for every
# weight. With raw features whose scales differ by a factor of 1000, the rate that
# is safe for the largest feature is far too small for the others:

# %% tags=["nbval-ignore-output"]
curves = {}
for name, (A_tr, A_val) in {"raw features": (X_tr, X_val), "standardized": (Z_tr, Z_val)}.items():
    torch.manual_seed(0)
    m = TwoLayerPerceptron()
    h = fit(m, (A_tr, y_tr.float()), nn.BCEWithLogitsLoss(), torch.optim.Adam(m.parameters(), lr=0.01),
            epochs=60, batch_size=16, val_data=(A_val, y_val.float()), seed=0, progress=False)
    curves[name] = h["train_loss"]
plot_curves(curves, title="same model, same optimizer: raw vs standardized inputs", ylabel="training BCE")
plt.show()

# %% [markdown]
# ### Leakage, shown
#
# Fitting a preprocessing step on *all* rows lets the validation rows shape the
# training inputs: their values move the mean, the quartiles, the fences. With a
# scaler the damage is small; with a step that looks at the **labels**, it is
# dramatic. Here the features are pure noise and the labels are coin flips, so no
# model can beat 50 % on new data. We pick the 20 features (of 2000) most correlated
# with the label, then classify by the nearest class mean. Picking them on all rows
# "finds" features that happen to match the validation labels too:

# %%
def nearest_centroid_accuracy(selection_rows, seed):
    gen = torch.Generator().manual_seed(seed)
    Xn = torch.randn(100, 2000, generator=gen)
    yn = torch.randint(0, 2, (100,), generator=gen)
    tr, va = torch.arange(80), torch.arange(80, 100)
    rows = torch.arange(100) if selection_rows == "all rows" else tr
    Xs, ys = Xn[rows] - Xn[rows].mean(0), yn[rows].float() - yn[rows].float().mean()
    corr = (Xs * ys[:, None]).sum(0) / (Xs.norm(dim=0) * ys.norm())
    top = corr.abs().topk(20).indices
    centroids = torch.stack([Xn[tr][yn[tr] == c][:, top].mean(0) for c in (0, 1)])
    pred = torch.cdist(Xn[va][:, top], centroids).argmin(1)
    return (pred == yn[va]).float().mean().item()


for how in ("all rows", "training rows"):
    accs = [nearest_centroid_accuracy(how, s) for s in range(20)]
    print(f"features chosen on {how:>13}: validation accuracy {np.mean(accs):.2f} (20 data sets of pure noise)")

# %% [markdown]
# The first number is a lie: the validation labels helped choose the features. The
# cure is the rule of this section: split first, then fit **every** step that learns
# something from data (imputer, clipper, scaler, feature selector) on the training
# rows only, and apply it unchanged to validation and test rows.
#
# **Data augmentation** (数据增强) makes new training examples from old ones: `add_gaussian_noise`
# jitters standardized features, `mixup` blends pairs of examples and their labels.
# Like fitting, it touches the training split only; validation data stays as it is.
#
# ## 5. Mini-batches
#
# The loss is an average over examples, so its gradient on a random **mini-batch** (小批量)
# of $B$ rows is an unbiased, noisy estimate of the full gradient. Small batches
# take many cheap, noisy steps per epoch; the full batch takes one precise step.
# `fit` shuffles the rows each epoch with a generator seeded by `seed`.
#
# **Explore.** Change the batch size and the learning rate; each change retrains
# the perceptron for 30 epochs. Look for: batch size 1 is noisy and makes the most
# progress per epoch (80 updates in each), though it is the slowest per epoch in wall
# time (80 small steps cost more than one step on 80 rows); the full batch (80) needs
# a larger learning rate or many more epochs; too large a rate makes the curves jump.

# %% tags=["nbval-ignore-output"]
def draw_minibatch(batch_size=16, lr=0.01):
    torch.manual_seed(0)
    m = TwoLayerPerceptron()
    h = fit(m, (Z_tr, y_tr.float()), nn.BCEWithLogitsLoss(), torch.optim.Adam(m.parameters(), lr=lr),
            epochs=30, batch_size=batch_size, val_data=(Z_val, y_val.float()), seed=0, progress=False, live_plot=False)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    plot_curves({"train": h["train_loss"], "validation": h["val_loss"]}, ax=ax,
                title=f"batch size {batch_size} ({-(-len(Z_tr) // batch_size)} steps per epoch), lr {lr:g}",
                ylabel="binary cross-entropy")
    ax.set_ylim(0, 1.0)
    plt.show()


# %% tags=["nbval-ignore-output"]
import ipywidgets as widgets

_ = widgets.interact(draw_minibatch,
                     batch_size=widgets.SelectionSlider(options=[1, 2, 4, 8, 16, 32, 80], value=16,
                                                        description="batch size", continuous_update=False),
                     lr=widgets.FloatLogSlider(value=0.01, base=10, min=-4, max=0, step=0.25,
                                               description="lr", continuous_update=False))

# %% [markdown]
# ## 6. Learning-rate schedules
#
# A constant learning rate is a compromise: large early (to travel) and small late
# (to settle) is better. A **learning-rate scheduler** (学习率调度器) changes the optimizer's rate as training
# goes, per epoch or per step (`fit(..., scheduler=..., scheduler_interval="epoch" | "step")`).
# The common shapes, for 100 steps from a peak rate $\eta_{\max}$:
#
# - **step decay** (阶梯衰减): multiply by $\gamma$ every $k$ steps;
# - **cosine**: $\eta_t = \tfrac12\eta_{\max}(1 + \cos(\pi t / T))$;
# - **warm-up + linear decay** (transformers): rise linearly for $w$ steps, then fall linearly to 0.

# %%
def lr_curve(make_scheduler, steps=100, peak=1.0):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=peak)
    sched = make_scheduler(opt) if make_scheduler else None
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched:
            sched.step()
    return rates


def warmup_linear(warmup, total):
    """The factor of the peak rate at step s: up for `warmup` steps, then down to 0 at `total`."""
    return lambda s: s / warmup if s < warmup else max(0.0, (total - s) / (total - warmup))


schedules = {
    "constant": None,
    "step decay (x0.5 every 30)": lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=30, gamma=0.5),
    "cosine": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=100),
    "warm-up 10 + linear decay": lambda o: torch.optim.lr_scheduler.LambdaLR(o, warmup_linear(10, 100)),
}

# %% tags=["nbval-ignore-output"]
fig, ax = plt.subplots(figsize=(8.4, 3.6))
for name, make in schedules.items():
    ax.plot(lr_curve(make), label=name)
ax.set(title="learning-rate schedules over 100 steps", xlabel="step", ylabel="learning rate / peak rate")
ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
fig.tight_layout()
plt.show()

# %% [markdown]
# With `fit`, a per-step schedule is one argument. `history["lr"]` records the rate at
# the start of each epoch (5 steps per epoch here, 40 epochs = 200 steps):

# %% tags=["nbval-ignore-output"]
torch.manual_seed(0)
m = TwoLayerPerceptron()
opt = torch.optim.Adam(m.parameters(), lr=0.03)
sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_linear(20, 200))
h_sched = fit(m, (Z_tr, y_tr.float()), nn.BCEWithLogitsLoss(), opt, epochs=40, batch_size=16,
              scheduler=sched, scheduler_interval="step", val_data=(Z_val, y_val.float()), seed=0)

# %%
print("lr at the start of epochs 1-6:", [round(v, 4) for v in h_sched["lr"][:6]])
_ = bml.check(h_sched["lr"][2], 0.03 * warmup_linear(20, 200)(10), "lr at the start of epoch 3 (step 10)")

# %% [markdown]
# ## 7. Watching, stopping early
#
# With a big hidden layer and only 80 training rows the perceptron will eventually
# memorise them: the training loss keeps falling while the validation loss turns up
# (chapter 04). `fit` draws both **live** in a notebook, and with `patience=k` it
# stops after $k$ epochs without improvement of `monitor` (the validation loss by
# default) and **restores the weights of the best epoch**.

# %% tags=["nbval-ignore-output"]
torch.manual_seed(0)
big = TwoLayerPerceptron(hidden=256)
h_es = fit(big, (Z_tr, y_tr.float()), nn.BCEWithLogitsLoss(), torch.optim.Adam(big.parameters(), lr=0.01),
           epochs=400, batch_size=16, val_data=(Z_val, y_val.float()), metrics={"accuracy": accuracy},
           patience=25, seed=0, live_plot=True)
print(h_es.stop_reason)

# %% tags=["nbval-ignore-output"]
ax = plot_curves({"train": h_es["train_loss"], "validation": h_es["val_loss"]},
                 title="early stopping with patience 25", ylabel="binary cross-entropy")
ax.axvline(h_es.best_epoch, color="k", ls="--", label=f"best epoch ({h_es.best_epoch})")
ax.legend()
plt.show()
val_loss_now = F.binary_cross_entropy_with_logits(predict(big, Z_val), y_val.float()).item()
_ = bml.check(val_loss_now, h_es["val_loss"][h_es.best_epoch - 1], "the model holds the best epoch's weights")

# %% [markdown]
# `fit` also stops with a clear error when the loss becomes NaN or infinite, naming
# the epoch, the step and the learning rate, instead of training on garbage. A
# missing value that slipped past cleaning is the classic cause:

# %% tags=["nbval-ignore-output"]
Z_broken = Z_tr.clone()
Z_broken[37, 2] = float("nan")   # one forgotten missing value, in the 3rd batch of 16
try:
    fit(TwoLayerPerceptron(), (Z_broken, y_tr.float()), nn.BCEWithLogitsLoss(),
        torch.optim.SGD(TwoLayerPerceptron().parameters(), lr=0.1), epochs=3, batch_size=16, shuffle=False,
        progress=False, live_plot=False)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# Oops, a different error first: the optimizer was built from a *second*
# `TwoLayerPerceptron()`, so it holds none of the trained model's parameters. `fit`
# checks such mistakes before training starts. Fixed:

# %% tags=["nbval-ignore-output"]
broken_model = TwoLayerPerceptron()
try:
    fit(broken_model, (Z_broken, y_tr.float()), nn.BCEWithLogitsLoss(),
        torch.optim.SGD(broken_model.parameters(), lr=0.1), epochs=3, batch_size=16, shuffle=False,
        progress=False, live_plot=False)
except NonFiniteLossError as err:
    print("NonFiniteLossError:", err)
    bml.check((err.epoch, err.step), (1, 3), "the error names epoch 1, step 3")

# %% [markdown]
# ## 8. Checkpoint, interrupt, resume
#
# Long runs get interrupted: a laptop sleeps, Colab disconnects, someone presses ■.
# With `checkpoint_dir`, `fit` saves after every epoch everything the next epoch
# depends on: the weights, the optimizer's state (Adam's moments), the scheduler,
# the history, and **every random state** (Python, NumPy, torch, and the generator
# that shuffles the batches). It writes a temporary file and renames it over the old
# one, so an interrupt in the middle of writing loses nothing. `resume=True` picks up
# after the last saved epoch, and the run ends with *bitwise* the same weights as if
# nothing had happened, dropout and shuffling included.
#
# First the reference: 12 uninterrupted epochs of a perceptron with dropout, Adam and
# a cosine schedule.

# %%
class DropoutPerceptron(TwoLayerPerceptron):
    def __init__(self):
        super().__init__(hidden=64)
        self.net.insert(2, nn.Dropout(0.3))


def new_run(seed):
    """Model, optimizer and scheduler, built the same way for every run."""
    torch.manual_seed(seed)
    model = DropoutPerceptron()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=12)
    return model, opt, sched


def same_weights(model_a, model_b):
    """True when every tensor of the two state dicts is bitwise equal."""
    a, b = model_a.state_dict(), model_b.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


run_args = dict(epochs=12, batch_size=16, val_data=(Z_val, y_val.float()), seed=0)
workdir = Path(tempfile.mkdtemp(prefix="ch05_"))

# %% tags=["nbval-ignore-output"]
reference, opt, sched = new_run(seed=0)
h_reference = fit(reference, (Z_tr, y_tr.float()), nn.BCEWithLogitsLoss(), opt, scheduler=sched, **run_args)

# %% [markdown]
# Now the same run, "unplugged" in the middle of epoch 8: a loss function that raises
# `KeyboardInterrupt` (what pressing ■ raises) at its 38th training call. In JupyterLab
# you can instead press ■ yourself while the next cell runs, then run the cell after it.

# %% tags=["nbval-ignore-output"]
calls = 0


def loss_that_gets_unplugged(logits, targets):
    global calls
    calls += torch.is_grad_enabled()     # count training steps, not validation batches
    if calls == 7 * 5 + 3:
        raise KeyboardInterrupt("unplugged")
    return F.binary_cross_entropy_with_logits(logits, targets)


model, opt, sched = new_run(seed=0)
try:
    fit(model, (Z_tr, y_tr.float()), loss_that_gets_unplugged, opt, scheduler=sched,
        checkpoint_dir=workdir / "run", **run_args)
except KeyboardInterrupt:
    print("interrupted!")

# %%
ckpt = load_checkpoint(workdir / "run")
print("saved keys:", sorted(ckpt))
print("epochs done:", ckpt["epoch"], "| train loss so far:", [round(v, 3) for v in ckpt["history"]["train_loss"]])
print("random states saved:", sorted(ckpt["rng"]))
_ = bml.check(ckpt["epoch"], 7, "the last complete epoch was saved")

# %% [markdown]
# A new session would rebuild everything from scratch, with *different* random
# initial weights, and resume. The checkpoint overrides them:

# %% tags=["nbval-ignore-output"]
model, opt, sched = new_run(seed=123)
torch.manual_seed(999)   # whatever the random state is now, the checkpoint restores it
resumed = fit(model, (Z_tr, y_tr.float()), nn.BCEWithLogitsLoss(), opt, scheduler=sched,
              checkpoint_dir=workdir / "run", resume=True, **run_args)

# %%
bml.check(same_weights(model, reference), True, "interrupted + resumed = uninterrupted, bit for bit")
print("epochs in the resumed history:", resumed.epochs, "|", resumed.stop_reason)

# %% [markdown]
# `time_budget_s` is the polite interrupt: `fit` stops after the batch that crosses
# the budget, keeps the checkpoint of the last complete epoch, and a later call with
# `resume=True` redoes the partial epoch. On Colab's free tier, a budget a little
# shorter than the session makes long runs safe.

# %% tags=["nbval-ignore-output"]
model, opt, sched = new_run(seed=0)
h_budget = fit(model, (Z_tr, y_tr.float()), nn.BCEWithLogitsLoss(), opt, scheduler=sched,
               checkpoint_dir=workdir / "budget", time_budget_s=0.05, **run_args)
print(h_budget.stop_reason)
model, opt, sched = new_run(seed=0)
fit(model, (Z_tr, y_tr.float()), nn.BCEWithLogitsLoss(), opt, scheduler=sched,
    checkpoint_dir=workdir / "budget", resume=True, **run_args)
_ = bml.check(same_weights(model, reference), True, "stopped by the time budget + resumed = uninterrupted")

# %% [markdown]
# ## 9. Pitfalls
#
# **A shape that broadcasts.** A model ending in `nn.Linear(H, 1)` returns shape
# `(N, 1)`; the targets have shape `(N,)`. `BCEWithLogitsLoss` refuses, but
# `MSELoss` would *broadcast* them to an `(N, N)` matrix and return a wrong number
# with only a warning. `fit` checks the first batch and says what is wrong:

# %% tags=["nbval-ignore-output"]
plain = nn.Sequential(nn.Linear(5, H), nn.ReLU(), nn.Linear(H, 1))
try:
    fit(plain, (Z_tr, y_tr.float()), nn.MSELoss(), torch.optim.SGD(plain.parameters(), lr=0.1),
        progress=False, live_plot=False)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# Fixed: squeeze the output (our `TwoLayerPerceptron` does), or give the targets a
# column with `y.unsqueeze(1)`.
#
# **Forgetting to clear gradients.** PyTorch *adds* each new gradient to `.grad`.
# A hand loop without `zero_grad()` (or `p.grad = None`) steps along the sum of all
# past gradients. Two backward passes, no clearing:

# %%
w_demo = torch.tensor(2.0, requires_grad=True)
for _ in range(2):
    (w_demo ** 2).backward()
print("grad after two backward passes:", w_demo.grad.item(), "(the true gradient 2w is 4.0)")
w_demo.grad = None
(w_demo ** 2).backward()
_ = bml.check(w_demo.grad, torch.tensor(4.0), "after clearing, the gradient is right")

# %% [markdown]
# **Scaling with all the data.** Section 4 showed it: `Standardizer().fit_transform(X)`
# *before* splitting lets validation rows into the training inputs. Split first.
#
# **Evaluating in training mode.** Dropout stays on in `model.train()` mode, so
# predictions are random. `predict` and `fit`'s validation switch to `model.eval()` and
# `torch.no_grad()` for you; a hand loop must do it itself.
#
# ## Exercises
#
# **Exercise 1 (the first factor of backprop).** For a batch of logits $z$ and labels
# $y$, show that the gradient of the mean BCE with logits is $(\sigma(z) - y)/N$.
# Compute it for `z_ex`, `y_ex` below and check it against autograd.
#
# **Exercise 2 (scaling without leakage).** Standardize `X_tr` and `X_val` by hand with
# the training mean and the population standard deviation (divide by $N$), and check
# your validation matrix against `Standardizer` and against scikit-learn's `StandardScaler`.
#
# **Exercise 3 (a schedule by hand).** Write the factor of warm-up + linear decay with
# $w = 5$ warm-up steps and $T = 50$ steps in total, as a list over steps 0..49, and
# check it against PyTorch's own `SequentialLR(LinearLR(...), LinearLR(...))`.
#
# **Exercise 4 (resume).** Train a `DropoutPerceptron` from `new_run(seed=0)` for 6
# epochs in two calls of `fit` (3 epochs, then `epochs=6, resume=True`, same
# `checkpoint_dir`) and check that it equals one call with `epochs=6`.

# %%
z_ex = torch.tensor([0.3, -1.2, 2.5, 0.0])
y_ex = torch.tensor([1.0, 0.0, 0.0, 1.0])

# %% [markdown]
# ### Solutions
# Expand the hidden cells to see them.

# %% jupyter={"source_hidden": true} tags=["nbval-ignore-output"]
# Exercise 1: dL/dz_i = (sigmoid(z_i) - y_i) / N.
by_formula = (torch.sigmoid(z_ex) - y_ex) / len(z_ex)
z_auto = z_ex.clone().requires_grad_()
F.binary_cross_entropy_with_logits(z_auto, y_ex).backward()
_ = bml.check(by_formula, z_auto.grad, "BCE gradient = (sigmoid(z) - y) / N")

# %% jupyter={"source_hidden": true} tags=["nbval-ignore-output"]
# Exercise 2: statistics of the training rows, applied to the validation rows.
from sklearn.preprocessing import StandardScaler

mu, sigma = X_tr.mean(0), X_tr.std(0, correction=0)
val_by_hand = (X_val - mu) / sigma
bml.check(val_by_hand, Standardizer().fit(X_tr).transform(X_val), "by hand = Standardizer", rtol=1e-4, atol=1e-5)
_ = bml.check(val_by_hand, StandardScaler().fit(X_tr.numpy()).transform(X_val.numpy()), "by hand = scikit-learn",
              rtol=1e-4, atol=1e-5)

# %% jupyter={"source_hidden": true}
# Exercise 3: up linearly for w steps, then down linearly to 0 at T.
w_up, T = 5, 50
mine = [s / w_up if s < w_up else (T - s) / (T - w_up) for s in range(T)]
opt_ref = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
reference_sched = torch.optim.lr_scheduler.SequentialLR(
    opt_ref,
    [torch.optim.lr_scheduler.LinearLR(opt_ref, start_factor=1e-12, end_factor=1.0, total_iters=w_up),
     torch.optim.lr_scheduler.LinearLR(opt_ref, start_factor=1.0, end_factor=0.0, total_iters=T - w_up)],
    milestones=[w_up])
theirs = []
for _ in range(T):
    theirs.append(opt_ref.param_groups[0]["lr"])
    opt_ref.step()
    reference_sched.step()
_ = bml.check(torch.tensor(mine), torch.tensor(theirs), "warm-up + linear decay = PyTorch's SequentialLR", atol=1e-9)

# %% jupyter={"source_hidden": true} tags=["nbval-ignore-output"]
# Exercise 4: two calls with a checkpoint = one call.
six = dict(run_args, epochs=6)
one_go, opt, sched = new_run(seed=0)
fit(one_go, (Z_tr, y_tr.float()), nn.BCEWithLogitsLoss(), opt, scheduler=sched, **six)
two_calls, opt, sched = new_run(seed=0)
fit(two_calls, (Z_tr, y_tr.float()), nn.BCEWithLogitsLoss(), opt, scheduler=sched,
    checkpoint_dir=workdir / "ex4", **dict(six, epochs=3))
two_calls, opt, sched = new_run(seed=0)
fit(two_calls, (Z_tr, y_tr.float()), nn.BCEWithLogitsLoss(), opt, scheduler=sched,
    checkpoint_dir=workdir / "ex4", resume=True, **six)
_ = bml.check(same_weights(one_go, two_calls), True, "3 + 3 epochs with resume = 6 epochs")

# %% [markdown]
# ## Summary
# - One training step is five lines: forward, loss, clear the gradients, backward, update (after initialising once).
# - `fit` runs them with batching, validation, metrics, a progress bar and a live plot, and adds schedules,
#   clipping, early stopping (restoring the best weights), mixed precision, a NaN stop and a time budget.
# - Clean, clip and scale with statistics of the **training split only**; anything fitted on all rows leaks.
# - Binary classification: one logit + sigmoid + BCE, or two logits + softmax + CE; two sigmoids answer a different question.
# - Checkpoints hold weights, optimizer, scheduler, history and every random state, so an interrupted run resumes bit for bit.
#
# **Further reading:** the PyTorch tutorial
# [*Optimizing model parameters*](https://pytorch.org/tutorials/beginner/basics/optimization_tutorial.html);
# A. Karpathy, [*A recipe for training neural networks*](https://karpathy.github.io/2019/04/25/recipe/) [ref:karpathy2019];
# [scikit-learn: common pitfalls (data leakage)](https://scikit-learn.org/stable/common_pitfalls.html);
# Zhang et al., [*mixup: Beyond empirical risk minimization*](https://arxiv.org/abs/1710.09412) [ref:zhang2018];
# Loshchilov & Hutter, [*SGDR: stochastic gradient descent with warm restarts*](https://arxiv.org/abs/1608.03983) [ref:loshchilov2017].
# Next: chapter 06, how to judge a trained model.

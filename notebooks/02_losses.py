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
# # 02 · Loss functions: from MSE to the GAN game
# *中文：损失函数：从均方误差到生成对抗博弈*
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/bigmodel-course/bigmodel-course/blob/main/notebooks/02_losses.ipynb)
#
# A model learns by making one number smaller. That number, the **loss**, says how
# wrong the predictions are; its **gradient** (梯度) says which way to move every weight.
# The loss decides what "wrong" means, and a careless formula turns into `inf` or
# `nan` long before the model is any good.
#
# **You will learn**
# - why mean squared error and cross-entropy are both *maximum likelihood*, under
#   Gaussian and categorical noise;
# - how to compute softmax cross-entropy and binary cross-entropy without overflow
#   (the log-sum-exp trick, and losses that take *logits*);
# - how each loss's gradient behaves as a prediction moves, which matters more than its value;
# - the two losses of a GAN, why the *non-saturating* generator loss is the one people
#   train with, and a tiny GAN that learns a 1-D distribution in seconds;
# - the mistakes popular code makes with these losses, and how to catch them.

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

# %matplotlib inline
import inspect
import math
import time

import torch.nn.functional as F

from bigmodel_lib import gan, losses
from bigmodel_lib.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    gan_discriminator_loss,
    gan_generator_loss,
    mse,
)

# %% [markdown]
# ## 1. Mean squared error: a regression and its loss surface
#
# **Intuition first.** Thirty points lie roughly on a line. A candidate line $\hat y =
# wx + b$ misses each point by a *residual* (the red segments). Square the residuals,
# average them: that is the mean squared error. Every choice of $(w, b)$ gets one
# number, so the loss is a *surface* over the plane of parameters, and training means
# walking downhill on it.

# %%
gen = torch.Generator().manual_seed(0)
x = torch.linspace(-1, 1, 30)
y = 2.0 * x + 1.0 + 0.3 * torch.randn(30, generator=gen)  # truth: w = 2, b = 1, noise 0.3

# the best line, by least squares (what minimising the MSE must find)
A = torch.stack([x, torch.ones_like(x)], dim=1)
w_best, b_best = torch.linalg.lstsq(A, y[:, None]).solution.squeeze(1).tolist()

ws, bs = torch.meshgrid(torch.linspace(-1, 5, 121), torch.linspace(-2, 4, 121), indexing="ij")
surface = ((ws[..., None] * x + bs[..., None] - y) ** 2).mean(-1)  # MSE for every (w, b)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
ax1.scatter(x, y, s=15, color="k", label="data", zorder=3)
for (w_, b_), colour, name in [((0.5, 2.0), "C3", "a poor line"), ((w_best, b_best), "C0", "best line")]:
    pred = w_ * x + b_
    ax1.plot(x, pred, color=colour, label=f"{name}: MSE = {mse(pred, y).item():.3f}")
    if colour == "C3":
        ax1.vlines(x, pred, y, color=colour, alpha=0.4, lw=1)
ax1.set(title="residuals of a candidate line", xlabel="x", ylabel="y")
ax1.legend()
levels = np.quantile(surface.numpy(), np.linspace(0.002, 0.9, 14))
cs = ax2.contour(ws, bs, surface, levels=levels, cmap="viridis")
ax2.clabel(cs, fontsize=7, fmt="%.2f")
ax2.plot(0.5, 2.0, "o", color="C3", label="the poor line")
ax2.plot(w_best, b_best, "*", color="C0", ms=14, label="minimum (least squares)")
ax2.set(title="MSE as a surface over the parameters", xlabel="slope w", ylabel="intercept b")
ax2.legend(loc="upper right")
fig.tight_layout()
plt.show()

# %% [markdown]
# **The math.** With predictions $\hat y_i$ and targets $y_i$ for $i = 1, \dots, N$,
#
# $$\mathrm{MSE} = \frac{1}{N}\sum_{i=1}^N (\hat y_i - y_i)^2, \qquad
# \frac{\partial\,\mathrm{MSE}}{\partial \hat y_i} = \frac{2}{N}(\hat y_i - y_i).$$
#
# *Why squares?* Suppose each target is the model's prediction plus Gaussian noise,
# $y_i = \hat y_i + \varepsilon_i$ with $\varepsilon_i \sim \mathcal N(0, \sigma^2)$.
# The likelihood of the data is $\prod_i \frac{1}{\sigma\sqrt{2\pi}}
# e^{-(y_i - \hat y_i)^2 / 2\sigma^2}$, and its negative log, divided by $N$, is
# $\frac{1}{2\sigma^2}\mathrm{MSE} + \log(\sigma\sqrt{2\pi})$. So *minimising the MSE is
# maximum likelihood under Gaussian noise*. Squares also punish one big miss more
# than many small ones, which is why outliers pull hard on an MSE fit.
#
# `bigmodel_lib.losses.mse` is that formula, plus a check that the shapes agree:

# %%
print(inspect.getsource(losses.mse))

# %% [markdown]
# Checked against PyTorch's own, then used: plain gradient descent on $(w, b)$ walks
# down the surface to the least-squares answer.

# %%
pred = 0.5 * x + 2.0
bml.check(mse(pred, y).item(), F.mse_loss(pred, y).item(), "mse == F.mse_loss")

params = torch.tensor([0.5, 2.0], requires_grad=True)  # start at the poor line
path = [params.detach().clone()]
for _ in range(60):
    loss = mse(params[0] * x + params[1], y)
    loss.backward()
    with torch.no_grad():
        params -= 0.4 * params.grad
        params.grad = None
    path.append(params.detach().clone())
path = torch.stack(path)
bml.check(params.detach().double().round(decimals=4), [w_best, b_best], "gradient descent reaches least squares", atol=1e-3)

# %%
fig, ax = plt.subplots(figsize=(5.5, 4))
ax.contour(ws, bs, surface, levels=levels, cmap="viridis")
ax.plot(path[:, 0], path[:, 1], ".-", color="C3", label="gradient descent, lr = 0.4")
ax.plot(w_best, b_best, "*", color="C0", ms=14, label="minimum")
ax.set(title="60 steps downhill on the MSE surface", xlabel="slope w", ylabel="intercept b")
ax.legend()
plt.show()

# %% [markdown]
# The path bends: the surface is steeper along $b$ than along $w$ (the contours are
# ellipses, not circles), so the steps first fix the intercept. Chapter 03 is about
# walking such surfaces faster.
#
# ## 2. Cross-entropy, from maximum likelihood
#
# **Intuition first.** A classifier does not output a class; it outputs a probability
# for each class. Judge it by the probability it gave to *what actually happened*:
# the **surprise** $-\log p$ is 0 when it was sure and right, and grows without bound
# when it was sure and wrong.

# %%
p = np.linspace(0.001, 1, 500)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(p, -np.log(p), label=r"surprise $-\log p$")
for q in (0.9, 0.5, 0.1, 0.01):
    ax.plot(q, -np.log(q), "o", color="C3")
    ax.annotate(f"p = {q}: {-np.log(q):.2f}", (q, -np.log(q)), textcoords="offset points",
                xytext=(8, 4) if q < 0.9 else (-30, 12))
ax.set(title="the loss of one example: -log(probability of the true class)",
       xlabel="probability the model gave to the true class", ylabel="loss (nats)", ylim=(0, 7.5))
ax.legend()
plt.show()

# %% [markdown]
# **The math.** A network maps an input $x$ to **logits** (对数几率) $z \in \mathbb R^C$, one raw
# score per class, and the **softmax** (归一化指数函数) turns them into probabilities:
#
# $$p_k = \mathrm{softmax}(z)_k = \frac{e^{z_k}}{\sum_{j=1}^C e^{z_j}}.$$
#
# For examples $(x_i, y_i)$, $i = 1..N$, with labels $y_i \in \{0, \dots, C-1\}$, the
# likelihood is $\prod_i p_{i, y_i}$. Its mean negative log is the **cross-entropy** (交叉熵):
#
# $$\mathcal L = -\frac{1}{N}\sum_{i=1}^N \log p_{i, y_i}
#  = -\frac{1}{N}\sum_{i=1}^N \sum_{k} q_{ik} \log p_{ik},$$
#
# where $q_i$ is the one-hot vector of $y_i$. The second form also accepts *soft*
# targets $q_i$ (any probability vector: label smoothing, distillation); per example
# it is $H(q, p) = H(q) + \mathrm{KL}(q \,\|\, p)$, smallest exactly when $p = q$.
# Its gradient with respect to the logits is the simplest in deep learning:
#
# $$\frac{\partial \mathcal L}{\partial z_{ik}} = \frac{1}{N}\,(p_{ik} - q_{ik}).$$
#
# **A tiny experiment.** Draw 1,000 labels with frequencies 50 / 30 / 20 %, and fit
# *one* free logit vector $z$ (no input at all) by minimising the cross-entropy.
# Maximum likelihood says $\mathrm{softmax}(z)$ must end at the observed frequencies.

# %%
labels = torch.multinomial(torch.tensor([0.5, 0.3, 0.2]), 1000, replacement=True,
                           generator=torch.Generator().manual_seed(1))
freq = torch.bincount(labels, minlength=3) / len(labels)
z = torch.zeros(1, 3, requires_grad=True)
optimizer = torch.optim.SGD([z], lr=1.0)
for _ in range(300):
    loss = cross_entropy(z.expand(len(labels), 3), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print("observed frequencies:", [round(v, 3) for v in freq.tolist()])
print("softmax(z) after fit:", [round(v, 3) for v in torch.softmax(z, 1).squeeze().tolist()])
bml.check(torch.softmax(z, 1).squeeze().double().round(decimals=4), freq, "maximum likelihood = observed frequencies", atol=1e-4)

# %% [markdown]
# `cross_entropy(logits, target)` takes `target` either as class indices (an integer
# tensor of shape $(N,)$) or as class probabilities (a float tensor of shape $(N, C)$).
# It also takes a sequence of predictions, logits $(N, C, T)$ with targets $(N, T)$, as
# a language model needs. Each is checked against PyTorch, including label
# smoothing written as soft targets $q = (1-\epsilon)\,\text{one-hot} + \epsilon / C$:

# %%
gen = torch.Generator().manual_seed(2)
logits = 3 * torch.randn(8, 5, generator=gen, dtype=torch.float64)
target = torch.randint(0, 5, (8,), generator=gen)
soft = torch.softmax(torch.randn(8, 5, generator=gen, dtype=torch.float64), dim=1)
bml.check(cross_entropy(logits, target).item(), F.cross_entropy(logits, target).item(), "class indices", rtol=1e-9)
bml.check(cross_entropy(logits, soft).item(), F.cross_entropy(logits, soft).item(), "class probabilities", rtol=1e-9)

eps = 0.1
smoothed = (1 - eps) * F.one_hot(target, 5).double() + eps / 5
bml.check(cross_entropy(logits, smoothed).item(), F.cross_entropy(logits, target, label_smoothing=eps).item(),
          "label smoothing as soft targets", rtol=1e-9)

seq_logits = torch.randn(4, 5, 7, generator=gen, dtype=torch.float64)  # (N, C, T)
seq_target = torch.randint(0, 5, (4, 7), generator=gen)
bml.check(cross_entropy(seq_logits, seq_target).item(), F.cross_entropy(seq_logits, seq_target).item(),
          "a sequence of predictions (N, C, T)", rtol=1e-9)

# gradient = (softmax - one-hot) / N
logits.requires_grad_()
cross_entropy(logits, target).backward()
expected_grad = (torch.softmax(logits, 1) - F.one_hot(target, 5)).detach() / 8
bml.check(logits.grad.round(decimals=10), expected_grad.round(decimals=10), "gradient = (p - q) / N", atol=1e-10)

# %% [markdown]
# ## 3. Why log-softmax: an overflow, then the fix
#
# Type the formula as written: exponentiate, normalise, take the log. In float32,
# $e^{z}$ is `inf` for any $z > 88.7$, and $e^{z}$ is exactly 0 for $z < -103.97$ (from
# there up to about $-102.87$ it rounds to the smallest positive float32, the subnormal
# $2^{-149} = e^{-103.28} \approx 1.4 \cdot 10^{-45}$).
# Logits of a few hundred are not exotic: an untrained network with a large
# initialisation, or a confident one late in training, produces them.

# %%
bml.check(torch.exp(torch.tensor([88.6, 88.8])).isinf().tolist(), [False, True],
          "float32 exp overflows to inf between 88.6 and 88.8")
bml.check(torch.exp(torch.tensor([-102.8, -102.9, -103.9, -104.0])).tolist(), [2 * 2.0**-149, 2.0**-149, 2.0**-149, 0.0],
          "float32 exp near -103: twice the smallest subnormal, the smallest (2^-149) twice, then 0", rtol=0, atol=0)

# %%
def naive_cross_entropy(logits, target):
    probs = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)
    return -torch.log(probs[torch.arange(len(target)), target]).mean()


big = torch.tensor([[100.0, 99.0, -100.0]])  # float32, like most training
print("naive softmax:           ", torch.exp(big) / torch.exp(big).sum(dim=1, keepdim=True))
print("naive loss, label 0:     ", naive_cross_entropy(big, torch.tensor([0])).item())
print("naive loss, label 2:     ", naive_cross_entropy(big - 100, torch.tensor([2])).item(),
      "(logits shifted by -100 to avoid the overflow: now it underflows)")

# %% [markdown]
# Overflow: $e^{100} = $ `inf`, and `inf / inf = nan`. Underflow: after the shift,
# the true class has $e^{-200} = 0$ in float32, and $-\log 0 = \infty$, although the
# right answer is a perfectly finite $200 + \log(1 + e^{-1}) \approx 200.3$.
#
# **The fix: the log-sum-exp trick.** Never form the probabilities. Work with
# $\log p_k = z_k - \log\sum_j e^{z_j}$, and shift before exponentiating: for any
# constant $m$,
#
# $$\log \sum_j e^{z_j} = m + \log \sum_j e^{z_j - m}, \qquad m = \max_j z_j .$$
#
# Now every exponent is $\le 0$ (no overflow), and the largest term is $e^0 = 1$, so
# the sum is at least 1 and its log is finite (no $\log 0$). The library's
# `log_softmax` reads like that:

# %%
print(inspect.getsource(losses.log_softmax))

# %%
bml.check(cross_entropy(big, torch.tensor([0])).item(), math.log(1 + math.exp(-1)), "stable loss, label 0: log(1 + e^-1)")
bml.check(cross_entropy(big - 100, torch.tensor([2])).item(), 200 + math.log(1 + math.exp(-1)),
          "stable loss, label 2: a finite 200.3")
bml.check(cross_entropy(big, torch.tensor([2])).item(), F.cross_entropy(big, torch.tensor([2])).item(), "== F.cross_entropy")

# %% [markdown]
# A picture of the same failure: logits $s\cdot(1, 0, -1)$ with the true class the
# *last* one, as the scale $s$ grows. The loss should grow like $2s$. The naive one
# breaks once the true class's probability, about $e^{-2s}$, underflows to 0
# ($2s > 103.97$), long before $e^{s}$ itself overflows ($s > 88.7$).

# %%
scales = torch.linspace(1, 150, 300)
naive, stable = [], []
for s in scales:
    z_s = s * torch.tensor([[1.0, 0.0, -1.0]])
    naive.append(naive_cross_entropy(z_s, torch.tensor([2])).item())
    stable.append(cross_entropy(z_s, torch.tensor([2])).item())
naive = np.array(naive)
broken = scales[~np.isfinite(naive)][0].item()
fig, ax = plt.subplots(figsize=(6.5, 3.8))
ax.plot(scales, stable, lw=4, alpha=0.5, label="log-sum-exp (bigmodel_lib.losses)")
ax.plot(scales, np.where(np.isfinite(naive), naive, np.nan), color="C3", label="naive exp / sum / log")
ax.axvline(broken, color="C3", ls=":", label=f"naive gives inf/nan from s = {broken:.0f}")
ax.set(title="cross-entropy of logits s·(1, 0, -1), true class 2, float32",
       xlabel="logit scale s", ylabel="loss (nats)")
ax.legend()
plt.show()

# %% [markdown]
# ## 4. Binary cross-entropy, on probabilities and on logits
#
# With two classes one number suffices: $p = P(y = 1)$, usually $p = \sigma(z) =
# 1/(1 + e^{-z})$ of a logit $z$. The Bernoulli likelihood $p^y (1-p)^{1-y}$ gives
#
# $$\mathrm{BCE}(p, y) = -\big[y \log p + (1-y)\log(1-p)\big].$$
#
# Written with the logit, using $\log\sigma(z) = -\mathrm{softplus}(-z)$ where
# $\mathrm{softplus}(z) = \log(1 + e^z)$:
#
# $$\mathrm{BCE}(\sigma(z), y) = \mathrm{softplus}(z) - y z, \qquad
# \frac{\partial}{\partial z} = \sigma(z) - y .$$
#
# Softplus has the same overflow trap as softmax ($e^{1000}$), and the same cure:
# $\mathrm{softplus}(z) = \max(z, 0) + \log(1 + e^{-|z|})$, whose exponent is never
# positive. `binary_cross_entropy_with_logits` is built on it;
# `binary_cross_entropy` takes probabilities and, like PyTorch, floors each log at
# $-100$ so that $p = 0$ costs 100 instead of infinity.

# %%
print(inspect.getsource(losses.softplus))

# %%
gen = torch.Generator().manual_seed(3)
z = 4 * torch.randn(6, 3, generator=gen, dtype=torch.float64)
yb = torch.randint(0, 2, (6, 3), generator=gen).double()
bml.check(binary_cross_entropy(torch.sigmoid(z), yb).item(), F.binary_cross_entropy(torch.sigmoid(z), yb).item(),
          "binary_cross_entropy == F.binary_cross_entropy", rtol=1e-9)
bml.check(binary_cross_entropy_with_logits(z, yb).item(), F.binary_cross_entropy_with_logits(z, yb).item(),
          "binary_cross_entropy_with_logits == F's", rtol=1e-9)
extreme = torch.tensor([1000.0, -1000.0, 0.0], requires_grad=True)
loss = binary_cross_entropy_with_logits(extreme, torch.tensor([0.0, 1.0, 1.0]))
loss.backward()
bml.check(loss.item(), (1000 + 1000 + math.log(2)) / 3, "logits of +-1000: finite loss")
bml.check(extreme.grad, [1 / 3, -1 / 3, -1 / 6], "and gradient (sigmoid(z) - y) / N")

# %% [markdown]
# ## 5. Explore: move a prediction and a label
#
# **Binary.** The sliders set a predicted probability $p$ and a label $y$ (soft labels
# allowed). Left: the loss of that one prediction under MSE and BCE. Middle: the
# gradient with respect to $p$. Right: the gradient with respect to the *logit*
# $z$ (with $p = \sigma(z)$), which is what reaches the network's weights.
# **Look for:** with $y = 1$ and $p \to 0$ (confidently wrong), BCE's logit gradient
# stays at $-1$, while MSE's shrinks to 0: a sigmoid network trained with MSE learns
# slowest exactly when it is most wrong. Every curve comes from the library's
# functions and autograd.

# %%
P_GRID = torch.linspace(0.005, 0.995, 100, dtype=torch.float64)
BINARY_LOSSES = {
    "MSE  (p - y)²": mse,
    "BCE  -[y log p + (1-y) log(1-p)]": binary_cross_entropy,
}


def loss_and_grads(loss_fn, p, y):
    """Loss of one prediction p with label y, its gradient in p and in the logit z."""
    z = torch.logit(torch.tensor([p], dtype=torch.float64)).requires_grad_()
    prob = torch.sigmoid(z)
    prob.retain_grad()
    loss = loss_fn(prob, torch.tensor([y], dtype=torch.float64))
    loss.backward()
    return loss.item(), prob.grad.item(), z.grad.item()


def draw_binary(p=0.2, y=1.0):
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for colour, (name, fn) in zip(("C0", "C1"), BINARY_LOSSES.items(), strict=True):
        curves = np.array([loss_and_grads(fn, q, y) for q in P_GRID.tolist()])
        here = loss_and_grads(fn, p, y)
        for ax, column in zip(axes, range(3), strict=True):
            ax.plot(P_GRID, curves[:, column], color=colour, label=name)
            ax.plot(p, here[column], "o", color=colour, ms=8)
        axes[0].annotate(f"{here[0]:.3f}", (p, here[0]), xytext=(6, 4), textcoords="offset points",
                         color=colour)
        axes[2].annotate(f"{here[2]:+.3f}", (p, here[2]), xytext=(6, 4), textcoords="offset points",
                         color=colour)
    axes[0].set(title=f"loss of one prediction (label y = {y:.2f})", ylabel="loss", ylim=(0, 5))
    axes[1].set(title="gradient w.r.t. the probability p", ylabel="dL/dp", ylim=(-8, 8))
    axes[2].set(title="gradient w.r.t. the logit z, p = sigmoid(z)", ylabel="dL/dz", ylim=(-1.1, 1.1))
    for ax in axes:
        ax.axvline(y, color="gray", ls=":", lw=1)
        ax.set_xlabel("predicted probability p")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper center", fontsize=8)
    fig.tight_layout()
    plt.show()


draw_binary(p=0.05, y=1.0)

# %% tags=["nbval-ignore-output"]
import ipywidgets as widgets

binary_explorer = widgets.interact(
    draw_binary,
    p=widgets.FloatSlider(value=0.2, min=0.01, max=0.99, step=0.01, description="prediction p",
                          continuous_update=False),
    y=widgets.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="label y",
                          continuous_update=False),
)

# %% [markdown]
# **Several classes.** Three logits and a true class. The bars show the softmax
# probabilities and the gradient of the cross-entropy with respect to each logit,
# $p_k - q_k$. **Look for:** the true class's gradient is negative (raise its logit),
# every other one is positive (lower it), they always sum to zero, and adding the same
# number to all three logits changes nothing at all.

# %%
CLASSES = ["cat", "dog", "bird"]


def draw_multiclass(z_cat=2.0, z_dog=0.5, z_bird=-1.0, label="dog"):
    z = torch.tensor([[z_cat, z_dog, z_bird]], dtype=torch.float64, requires_grad=True)
    true = CLASSES.index(label)
    loss = cross_entropy(z, torch.tensor([true]))
    loss.backward()
    probs = torch.softmax(z.detach(), 1).squeeze().numpy()
    colours = ["C2" if k == true else "C0" for k in range(3)]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax1.bar(CLASSES, probs, color=colours)
    ax1.set(title=f"softmax probabilities; loss = -log p[{label}] = {loss.item():.3f}",
            ylabel="probability", ylim=(0, 1))
    ax2.bar(CLASSES, z.grad.squeeze().numpy(), color=colours)
    ax2.axhline(0, color="k", lw=0.8)
    ax2.set(title="gradient dL/dz = p - one-hot(label)", ylabel="dL/dz", ylim=(-1, 1))
    for ax in (ax1, ax2):
        ax.set_xlabel("class (green = true label)")
    fig.tight_layout()
    plt.show()


draw_multiclass()

# %% tags=["nbval-ignore-output"]
logit_slider = lambda name, v: widgets.FloatSlider(value=v, min=-6, max=6, step=0.25, description=name)
multiclass_explorer = widgets.interact(
    draw_multiclass,
    z_cat=logit_slider("logit cat", 2.0),
    z_dog=logit_slider("logit dog", 0.5),
    z_bird=logit_slider("logit bird", -1.0),
    label=widgets.Dropdown(options=CLASSES, value="dog", description="true label"),
)

# %% [markdown]
# ## 6. The GAN game and its two generator losses
#
# **Intuition.** A *generator* $G$ turns random noise $z$ into samples $G(z)$ (here:
# numbers). A *discriminator* $D$ looks at a sample and outputs $D(x) \in (0, 1)$,
# the probability that $x$ is real data rather than a fake. $D$ is trained to tell
# them apart; $G$ is trained to fool $D$. If both play perfectly, $G$'s samples are
# distributed exactly like the data and $D$ can only say ½.
#
# **The math** (Goodfellow et al., 2014 [ref:goodfellow2014]). With data $x \sim p_{\text{data}}$ and noise
# $z \sim p_z$, the game's value is
#
# $$V(D, G) = \mathbb E_{x}\big[\log D(x)\big] + \mathbb E_{z}\big[\log(1 - D(G(z)))\big],
# \qquad \min_G \max_D V(D, G).$$
#
# - **Discriminator loss** (minimised): $\mathcal L_D = -V =
#   \mathrm{BCE}(D(x), 1) + \mathrm{BCE}(D(G(z)), 0)$, a binary cross-entropy with
#   "real" as the label. *Convention:* the library **adds** the two means (some code
#   bases halve the sum; that only rescales $D$'s learning rate). For a fixed $G$ the
#   best discriminator is $D^*(x) = \frac{p_{\text{data}}(x)}{p_{\text{data}}(x) +
#   p_G(x)}$; once $p_G = p_{\text{data}}$ it is ½ everywhere and
#   $\mathcal L_D = 2\log 2 \approx 1.386$.
# - **Generator loss, minimax**: $\mathcal L_G^{\text{mm}} = \mathbb E_z[\log(1 - D(G(z)))]$,
#   the game as written.
# - **Generator loss, non-saturating**: $\mathcal L_G^{\text{ns}} = -\mathbb E_z[\log D(G(z))]$:
#   instead of "make $D$ less right", "make $D$ say *real*". Same fixed points,
#   different gradients.
#
# Both generator losses are taken over **generated** samples $G(z)$: the real data do
# not depend on $G$, so they cannot teach it anything. $D$ outputs a logit $a$ with
# $D = \sigma(a)$; the gradient that flows back into $G$ is
#
# $$\frac{\partial \mathcal L_G^{\text{mm}}}{\partial a} = -D(G(z)), \qquad
#   \frac{\partial \mathcal L_G^{\text{ns}}}{\partial a} = -\big(1 - D(G(z))\big).$$
#
# Early in training $G$ is bad, $D$ easily rejects its samples, $D(G(z)) \approx 0$,
# and the minimax gradient vanishes: it **saturates** exactly when $G$ needs it most.

# %%
print(inspect.getsource(losses.gan_discriminator_loss))
gen = torch.Generator().manual_seed(4)
real_logits = 3 * torch.randn(16, 1, generator=gen, dtype=torch.float64)
fake_logits = 3 * torch.randn(24, 1, generator=gen, dtype=torch.float64)
bml.check(gan_discriminator_loss(real_logits, fake_logits).item(),
          (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
           + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))).item(),
          "L_D = BCE(real, 1) + BCE(fake, 0)", rtol=1e-9)
half = torch.zeros(10, 1)  # logit 0: D = 1/2 on everything
bml.check(gan_discriminator_loss(half, half).item(), 2 * math.log(2), "L_D at the end of the game = 2 log 2")
bml.check(gan_generator_loss(fake_logits).item(), -torch.log(torch.sigmoid(fake_logits)).mean().item(),
          "non-saturating = -E log D(G(z))", rtol=1e-9)
bml.check(gan_generator_loss(fake_logits, non_saturating=False).item(),
          torch.log(1 - torch.sigmoid(fake_logits)).mean().item(), "minimax = E log(1 - D(G(z)))", rtol=1e-9)

# %%
d_values = torch.logspace(-4, math.log10(0.9999), 200, dtype=torch.float64)
curves = {}
for name, ns in [("minimax  E log(1 - D(G(z)))", False), ("non-saturating  -E log D(G(z))", True)]:
    values, grads = [], []
    for d in d_values:
        a = torch.logit(d).reshape(1).requires_grad_()  # D's logit on one generated sample
        loss = gan_generator_loss(a, non_saturating=ns)
        loss.backward()
        values.append(loss.item())
        grads.append(a.grad.item())
    curves[name] = (values, grads)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11.5, 3.9))
for name, (values, grads) in curves.items():
    ax1.plot(d_values, values, label=name)
    ax2.plot(d_values, np.abs(grads), label=name)
ax1.set(title="generator loss (G minimises it)", ylabel="loss")
ax2.set(title="gradient reaching G: |dL/d logit|", ylabel="|gradient|", yscale="log")
for ax in (ax1, ax2):
    ax.set(xscale="log", xlabel="D(G(z)): how real D finds a generated sample")
    ax.axvspan(1e-4, 1e-2, color="C3", alpha=0.08)
    ax.grid(alpha=0.3)
ax1.text(1.3e-4, 4.5, "early training:\nD rejects the fakes", color="C3", fontsize=8)
ax1.legend(fontsize=8)
fig.tight_layout()
plt.show()
bml.check(curves["minimax  E log(1 - D(G(z)))"][1][0], -d_values[0].item(), "minimax gradient at D = 1e-4 is -D")

# %% [markdown]
# At $D(G(z)) = 10^{-4}$ the minimax gradient is $10^{-4}$, the non-saturating one is
# about 1: four orders of magnitude. Does it matter in practice? Here is a generator
# whose samples sit near 0 while the data sit near 4, against a discriminator that has
# already learned to reject it, trained with plain SGD from the same start under each
# loss. (Adam would rescale the tiny minimax gradient and partly hide the problem, but
# a gradient that is mostly noise stays mostly noise.)

# %% tags=["nbval-ignore-output"]
import copy

torch.manual_seed(0)
far_data = lambda n: gan.sample_mixture(n, means=(4.0,), stds=(0.5,))
G0, D0 = gan.make_generator(), gan.make_discriminator()
opt = torch.optim.Adam(D0.parameters(), lr=2e-3, betas=(0.5, 0.999))
for _ in range(300):  # D alone learns to reject G's samples
    with torch.no_grad():
        fakes = G0(torch.randn(256, 4))
    loss = gan_discriminator_loss(D0(far_data(256)), D0(fakes))
    opt.zero_grad()
    loss.backward()
    opt.step()
with torch.no_grad():
    print(f"after D's head start: D(G(z)) = {torch.sigmoid(D0(G0(torch.randn(1000, 4)))).mean():.4f}")

sample_means = {}
for ns in (False, True):
    G1, D1 = copy.deepcopy(G0), copy.deepcopy(D0)
    opt_g = torch.optim.SGD(G1.parameters(), lr=0.01)
    opt_d = torch.optim.Adam(D1.parameters(), lr=1e-3, betas=(0.5, 0.999))
    trace = []
    for step in range(600):
        gan.gan_step(G1, D1, far_data(256), opt_g, opt_d, non_saturating=ns)
        if step % 10 == 0:
            with torch.no_grad():
                trace.append(G1(torch.randn(1000, 4)).mean().item())
    sample_means["non-saturating" if ns else "minimax"] = trace

fig, ax = plt.subplots(figsize=(6.5, 3.6))
for name, trace in sample_means.items():
    ax.plot(np.arange(len(trace)) * 10, trace, label=f"{name} generator loss")
ax.axhline(4.0, color="k", ls=":", label="mean of the data")
ax.set(title="where G's samples go (SGD for G, D had a head start)", xlabel="step",
       ylabel="mean of G(z)", ylim=(-1, 12))
ax.legend()
plt.show()

# %%
bml.check(abs(sample_means["minimax"][-1] - sample_means["minimax"][0]) < 0.5, True,
          "minimax: G is stuck where it started")
bml.check(abs(sample_means["non-saturating"][-1] - 4.0) < 1.0, True,
          "non-saturating: G reached the data")

# %% [markdown]
# ## 7. A tiny GAN learns a mixture of three Gaussians
#
# The data: numbers drawn from three bumps at $-3$, $0$ and $3$. $G$ is a small
# network from 4 noise numbers to 1 output; $D$ a small network from 1 number to a
# logit. One round of the game, from `bigmodel_lib.gan`:

# %%
print(inspect.getsource(gan.gan_step))

# %% [markdown]
# Train for a few thousand rounds. The live plot shows both losses; the histogram
# shows where $G$ puts its samples. **Look for:** the losses settling near the
# equilibrium values $\mathcal L_D = 2\log 2 \approx 1.39$ and
# $\mathcal L_G^{\text{ns}} = \log 2 \approx 0.69$ (D says ½ everywhere), and the
# generated histogram growing one bump per mode.

# %%
MEANS, STDS = (-3.0, 0.0, 3.0), (0.4, 0.4, 0.4)
STEPS = 3000  # tiny networks: the same size in every profile, on the CPU


def mixture_pdf(t):
    """The real density: the average of the three Gaussian bumps."""
    bumps = [np.exp(-0.5 * ((t - m) / s) ** 2) / (s * np.sqrt(2 * np.pi)) for m, s in zip(MEANS, STDS, strict=True)]
    return sum(bumps) / len(bumps)


def draw_distribution(ax, samples, title):
    grid = np.linspace(-5.5, 5.5, 400)
    ax.hist(samples, bins=110, range=(-5.5, 5.5), density=True, color="C1", alpha=0.6, label="generated G(z)")
    ax.plot(grid, mixture_pdf(grid), color="k", lw=1.5, label="real density")
    ax.set(title=title, xlabel="x", ylabel="density", xlim=(-5.5, 5.5), ylim=(0, 1.2))


def distribution_figure(samples, step):
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    draw_distribution(ax, samples, f"generated vs real, step {step}")
    ax.legend(loc="upper right")
    fig.tight_layout()
    plt.close(fig)
    return fig


# %% tags=["nbval-ignore-output"]
from IPython.display import display

from bigmodel_lib.plots import LivePlot, live_frontend

torch.manual_seed(0)
G, D = gan.make_generator(noise_dim=4, hidden=32), gan.make_discriminator(hidden=32)
real_rng = torch.Generator().manual_seed(0)
sample_real = lambda n: gan.sample_mixture(n, MEANS, STDS, generator=real_rng)
z_fixed = torch.randn(5000, 4)  # the same noise at every look, so the pictures compare
snapshots = {}


def look(step, values=None):
    if step % 250 == 0:
        with torch.no_grad():
            snapshots[step] = G(z_fixed).squeeze(1).numpy()
        if live_view is not None:
            live_view.update(distribution_figure(snapshots[step], step))


live_view = None
if live_frontend():  # a person is watching: one figure, redrawn in place
    live_view = display(distribution_figure(G(z_fixed).detach().squeeze(1).numpy(), 0), display_id=True)
look(0)
plot = LivePlot(title="tiny GAN: both losses (mean over 25 steps)", xlabel="step", ylabel="loss")
start = time.perf_counter()
history = gan.train_gan(G, D, sample_real, steps=STEPS, batch_size=256, lr=1e-3, log_every=25,
                        live_plot=plot, on_log=look)
plot.close()
print(f"{STEPS} rounds in {time.perf_counter() - start:.0f} s; final D loss {history['d_loss'][-1]:.3f}, "
      f"G loss {history['g_loss'][-1]:.3f}, D(real) {history['d_real'][-1]:.2f}, D(G(z)) {history['d_fake'][-1]:.2f}")

# %%
shown = [0, 250, 500, 1000, STEPS]
fig, axes = plt.subplots(1, len(shown), figsize=(16, 3), sharey=True)
for ax, step in zip(axes, shown, strict=True):
    draw_distribution(ax, snapshots[step], f"step {step}")
    ax.set_ylabel("density" if step == 0 else "")
axes[0].legend(loc="upper left", fontsize=7)
fig.suptitle("what the generator produces as training goes on (same noise z every time)")
fig.tight_layout()
plt.show()

# %% tags=["nbval-ignore-output"]
final = torch.from_numpy(snapshots[STEPS])
nearest = (final[:, None] - torch.tensor(MEANS)).abs().argmin(dim=1)
share = torch.bincount(nearest, minlength=3) / len(final)
print("share of generated samples nearest each mode:", [round(v, 2) for v in share.tolist()])

# %%
bml.check(bool((share > 0.05).all()), True, "every mode is covered (at least 5% of the samples each)")
bml.check(bool(abs(np.mean(history["d_loss"][-10:]) - 2 * math.log(2)) < 0.15), True,
          "D loss ends near 2 log 2 (D cannot tell)")

# %% [markdown]
# GANs are famously fiddly: change the seed, the learning rate or the width and you
# may see a mode dropped (one bump missing: *mode collapse*), or the two losses
# oscillating instead of settling. The losses alone do not tell you the samples are
# good (they only say the game is balanced), which is why the histogram is drawn.
#
# ## 8. Pitfalls
#
# **Pitfall 1: the generator loss over real samples.** The generator's loss must
# be computed on $D(G(z))$. Written on real data, it looks like a loss and even
# produces a number, but nothing in it depends on $G$:

# %%
torch.manual_seed(0)
G_bad, D_bad = gan.make_generator(), gan.make_discriminator()
real_batch = gan.sample_mixture(64, MEANS, STDS)

wrong = gan_generator_loss(D_bad(real_batch))  # WRONG: D on real samples
wrong.backward()
print("G's gradients with the loss on real samples:", {n: p.grad for n, p in G_bad.named_parameters()})

right = gan_generator_loss(D_bad(G_bad(torch.randn(64, 4))))  # right: D on G(z)
right.backward()
bml.check(all(p.grad is not None and p.grad.abs().sum() > 0 for p in G_bad.parameters()), True,
          "with D(G(z)) every generator weight gets a gradient")

# %% [markdown]
# The optimizer then "steps" with no gradient and $G$ never changes; the loss curve
# looks alive because $D$ keeps training. The related slip, on $D$'s side: forgetting
# `fake.detach()` in $D$'s step sends $D$'s gradients into $G$ (see `gan_step` above).
#
# **Pitfall 2: softmax before cross-entropy.** `cross_entropy` (like
# `torch.nn.CrossEntropyLoss`) takes *logits* and applies log-softmax itself. A
# network that ends in `nn.Softmax` gets softmax twice: the loss can no longer reach 0
# and the gradients shrink.

# %%
perfect = torch.tensor([[10.0, -10.0, -10.0]], dtype=torch.float64, requires_grad=True)  # confident, right
target0 = torch.tensor([0])
twice = cross_entropy(torch.softmax(perfect, 1), target0)  # WRONG
twice.backward()
print(f"softmax twice: loss {twice.item():.4f} (it can never go below log(1 + 2/e) = "
      f"{math.log(1 + 2 / math.e):.4f})")
bml.check(cross_entropy(perfect, target0).item(), 0.0, "logits in: a confident right answer costs ~0", atol=1e-8)

# %% [markdown]
# **Pitfall 3: a sigmoid, then binary cross-entropy.** In float32, $\sigma(z)$ rounds
# to exactly 1 for $z > 16.6$. After that $\log(1 - p)$ has lost everything: the loss
# jumps to the floor value 100, and the gradient with respect to $z$ is 0: the
# network is confidently wrong and is told nothing. From logits, both stay exact.

# %%
zs = torch.linspace(0, 40, 400, requires_grad=True)  # logits, label 0: all these are wrong
label0 = torch.zeros(1)
via_sigmoid, via_logits = [], []
for z_ in zs:
    for fn, store in [(lambda t: binary_cross_entropy(torch.sigmoid(t), label0), via_sigmoid),
                      (lambda t: binary_cross_entropy_with_logits(t, label0), via_logits)]:
        t = z_.detach().reshape(1).requires_grad_()
        loss = fn(t)
        loss.backward()
        store.append((loss.item(), t.grad.item()))
via_sigmoid, via_logits = np.array(via_sigmoid), np.array(via_logits)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
ax1.plot(zs.detach(), via_logits[:, 0], lw=4, alpha=0.5, label="binary_cross_entropy_with_logits(z, 0)")
ax1.plot(zs.detach(), via_sigmoid[:, 0], color="C3", label="binary_cross_entropy(sigmoid(z), 0)")
ax1.set(title="loss of a wrong answer, label 0, float32", xlabel="logit z", ylabel="loss", ylim=(0, 105))
ax2.plot(zs.detach(), via_logits[:, 1], lw=4, alpha=0.5, label="from logits: sigmoid(z) - y")
ax2.plot(zs.detach(), via_sigmoid[:, 1], color="C3", label="through the sigmoid")
ax2.set(title="its gradient w.r.t. z", xlabel="logit z", ylabel="dL/dz", ylim=(-0.05, 1.1))
for ax in (ax1, ax2):
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
bml.check(abs(via_sigmoid[-1, 1]), 0.0, "through the sigmoid at z = 40: gradient lost")
bml.check(via_logits[-1], [40.0, 1.0], "from logits at z = 40: loss 40, gradient 1")

# %% [markdown]
# **Pitfall 4: shapes that broadcast.** A regression network returns shape $(N, 1)$,
# the targets have shape $(N,)$. Subtracting them broadcasts to $(N, N)$: every
# prediction is compared with every target. PyTorch warns (once, easy to miss) and
# returns a wrong number; `mse` refuses.

# %%
import warnings

pred_col = (2.0 * x + 1.0)[:, None]  # (30, 1): a near-perfect prediction
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    print(f"F.mse_loss with (30, 1) vs (30,): {F.mse_loss(pred_col, y).item():.3f}   <- wrong")
print(f"with matching shapes:             {F.mse_loss(pred_col.squeeze(1), y).item():.3f}")
try:
    mse(pred_col, y)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# **Pitfall 5: labels that are not class indices.** Labels numbered $1..C$ instead of
# $0..C-1$, or labels stored as floats, are caught with a message saying what was
# expected and how to fix it. (PyTorch says `Target 3 is out of bounds` on the CPU,
# but on a GPU the same mistake is a device-side assert that ends the whole session.)

# %%
four_logits = torch.zeros(4, 3)
for bad_target in (torch.tensor([1, 2, 3, 3]), torch.tensor([0.0, 1.0, 2.0, 0.0])):
    try:
        cross_entropy(four_logits, bad_target)
    except (ValueError, TypeError) as err:
        print(f"{type(err).__name__}: {err}")

# %% [markdown]
# ## Exercises
#
# **Exercise 1 (by hand).** A classifier gives logits $(2.0, 1.0, 0.1)$ and the true
# class is 0. Compute the cross-entropy with `math.exp` and `math.log` only, then
# check it against `cross_entropy`.
#
# **Exercise 2 (log-sum-exp).** Write `my_logsumexp(z)` for a 1-D tensor with the
# shift trick, and check it against `torch.logsumexp` on `torch.tensor([1000., 1000.])`
# (the answer is $1000 + \log 2$) and on `torch.tensor([-1000., -1000., -1000.])`.
#
# **Exercise 3 (a sigmoid network with MSE).** For one example with label $y = 1$ and
# logit $z = -6$, compute the gradient $\partial/\partial z$ of
# `mse(sigmoid(z), y)` and of `binary_cross_entropy_with_logits(z, y)` with autograd,
# and compare with the formulas $2(p - y)\,p(1 - p)$ and $p - y$. How many times
# larger is the BCE gradient?
#
# **Exercise 4 (saturation, in numbers).** At $D(G(z)) = 0.01$, how many times larger
# is the non-saturating generator gradient (w.r.t. $D$'s logit) than the minimax one?
# Derive it from the formulas of section 6, then measure it with `gan_generator_loss`.
#
# **Exercise 5 (the optimal discriminator).** Let the data be $\mathcal N(0, 1)$ and
# the generator's samples $\mathcal N(1, 1)$. Show that the best discriminator has
# logit $\log p_{\text{data}}(x) - \log p_G(x) = \tfrac12 - x$. Then *learn* it: fit
# a logistic discriminator $D(x) = \sigma(wx + b)$ by minimising
# `gan_discriminator_loss` on 20,000 samples of each, and check $w \approx -1$,
# $b \approx 0.5$.

# %% [markdown]
# ### Solutions
# Expand the hidden cell to see them.

# %% jupyter={"source_hidden": true}
# Exercise 1: -log softmax(z)_0 = -(z_0 - log sum_j e^{z_j})
z1 = [2.0, 1.0, 0.1]
by_hand = -(z1[0] - math.log(sum(math.exp(v) for v in z1)))
print(f"cross-entropy by hand: {by_hand:.4f}")
bml.check(by_hand, cross_entropy(torch.tensor([z1]), torch.tensor([0])).item(), "exercise 1")


# Exercise 2: log sum e^z = m + log sum e^(z - m)
def my_logsumexp(z):
    m = z.max()
    return m + torch.log(torch.exp(z - m).sum())


for z2 in (torch.tensor([1000.0, 1000.0]), torch.tensor([-1000.0, -1000.0, -1000.0]),
           torch.randn(10, generator=torch.Generator().manual_seed(5))):
    bml.check(my_logsumexp(z2).item(), torch.logsumexp(z2, 0).item(), f"exercise 2, logsumexp of {len(z2)} numbers")

# Exercise 3: gradients w.r.t. the logit
z3 = torch.tensor([-6.0], dtype=torch.float64, requires_grad=True)
y3 = torch.tensor([1.0], dtype=torch.float64)
(g_mse,) = torch.autograd.grad(mse(torch.sigmoid(z3), y3), z3)
(g_bce,) = torch.autograd.grad(binary_cross_entropy_with_logits(z3, y3), z3)
p3 = torch.sigmoid(z3.detach())
bml.check(g_mse.item(), (2 * (p3 - 1) * p3 * (1 - p3)).item(), "exercise 3, MSE gradient 2(p - y) p (1 - p)")
bml.check(g_bce.item(), (p3 - 1).item(), "exercise 3, BCE gradient p - y")
print(f"the BCE gradient is {g_bce.item() / g_mse.item():.0f} times larger, = 1 / (2 p (1 - p))")

# Exercise 4: |d/da| is (1 - D) for non-saturating and D for minimax: ratio (1 - D) / D = 99
a4 = torch.logit(torch.tensor([0.01], dtype=torch.float64)).requires_grad_()
(g_ns,) = torch.autograd.grad(gan_generator_loss(a4, non_saturating=True), a4)
(g_mm,) = torch.autograd.grad(gan_generator_loss(a4, non_saturating=False), a4)
bml.check((g_ns / g_mm).item(), (1 - 0.01) / 0.01, "exercise 4, gradient ratio at D = 0.01")

# Exercise 5: log N(x; 0, 1) - log N(x; 1, 1) = -x^2/2 + (x - 1)^2/2 = 1/2 - x
gen5 = torch.Generator().manual_seed(6)
real5 = torch.randn(20_000, 1, generator=gen5)
fake5 = 1.0 + torch.randn(20_000, 1, generator=gen5)
wb = torch.zeros(2, requires_grad=True)
opt5 = torch.optim.LBFGS([wb], lr=1.0, max_iter=100)


def closure():
    opt5.zero_grad()
    loss = gan_discriminator_loss(wb[0] * real5 + wb[1], wb[0] * fake5 + wb[1])
    loss.backward()
    return loss


opt5.step(closure)
bml.check(wb.detach().double().round(decimals=3), [-1.0, 0.5], "exercise 5, the learned discriminator's (w, b)", atol=0.05)

# %% [markdown]
# ## Summary
# - A loss is a negative log-likelihood in disguise: **MSE** for Gaussian noise,
#   **cross-entropy** for a categorical label, **binary CE** for a yes/no label.
# - Compute them from **logits**: log-softmax through the **log-sum-exp** trick, BCE
#   as $\mathrm{softplus}(z) - yz$ with a stable softplus. Then logits of ±1000 are fine.
# - The gradient of softmax-CE and of BCE with respect to the logits is simply
#   *prediction − target*: large when wrong, small when right.
# - A GAN's discriminator minimises $\mathrm{BCE}(D(x), 1) + \mathrm{BCE}(D(G(z)), 0)$
#   (a sum, equal to $2\log 2$ at equilibrium); its generator minimises
#   $-\log D(G(z))$ on **generated** samples, the non-saturating loss, because the
#   minimax $\log(1 - D(G(z)))$ gives no gradient while $G$ is bad.
# - `bigmodel_lib.losses` refuses shape mismatches, out-of-range labels, probabilities
#   outside [0, 1], empty batches and wrong dtypes, with a message that says what it expected.
#
# **Further reading**
# - I. Goodfellow et al., [Generative Adversarial Nets](https://arxiv.org/abs/1406.2661) (2014) [ref:goodfellow2014],
#   and Goodfellow's [NIPS 2016 tutorial on GANs](https://arxiv.org/abs/1701.00160) (section 3.2.3:
#   the non-saturating game) [ref:goodfellow2016b].
# - Goodfellow, Bengio, Courville, [*Deep Learning*](https://www.deeplearningbook.org/), §5.5
#   (maximum likelihood) and §6.2.2 (output units and their losses) [ref:goodfellow2016a].
# - [`torch.nn.functional.cross_entropy`](https://pytorch.org/docs/stable/generated/torch.nn.functional.cross_entropy.html)
#   and [`binary_cross_entropy_with_logits`](https://pytorch.org/docs/stable/generated/torch.nn.functional.binary_cross_entropy_with_logits.html).
# - M. Lucic et al., [Are GANs Created Equal?](https://arxiv.org/abs/1711.10337) (2018) [ref:lucic2018]: how
#   much of GAN progress is tuning.
#
# Next: chapter 03, the optimizers that walk down these loss surfaces.

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
# # 00 · Setup and tour
# *中文：环境配置与课程导览*
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/bigmodel-course/bigmodel-course/blob/main/notebooks/00_setup.ipynb)
#
# This course explains how big neural models are built, trained, judged and paid for.
# Every chapter is a notebook like this one, standing on one small library,
# `bigmodel_lib`, whose every formula is checked by a test.
#
# **You will learn**
# - how to check that your environment has everything the course needs;
# - what the two *profiles* are (`default` for a laptop CPU, `gpu` for Colab);
# - how sliders, live loss plots and progress bars behave in this course;
# - how the self-checks in exercises tell you whether your answer is right.

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

# %% [markdown]
# ## 1. Is everything here?
#
# The check below prints one line per requirement: **OK** or **FAIL**, with the detail
# you need to fix it. It never touches the network. The offline model is checked
# byte for byte: its `model.safetensors` must have the sha256 the course pins.

# %% tags=["nbval-ignore-output"]
from bigmodel_lib.env import environment_report

report = environment_report()

# %%
failed = [name for name, (ok, _) in report.items() if not ok]
bml.check(failed, [], "requirements that failed")

# %% [markdown]
# If a line says FAIL, the detail says why. The usual fix is to run `./course lab`
# again from the repository (it installs what is missing). On Colab, run the setup
# cell at the top of the notebook first.
#
# ## 2. Profiles: one notebook, two sizes
#
# Each chapter runs in a few minutes on a laptop CPU with the **default** profile, and
# scales up (more data, bigger models) with the **gpu** profile. The profile comes from
# the environment variable `BIGMODEL_PROFILE`; when it is unset, `gpu` is chosen
# automatically where CUDA is present (Colab with a GPU runtime), `default` elsewhere.
# The default profile never downloads anything.
#
# Chapters pick their sizes with `pick(default=..., gpu=...)`:

# %%
n_rows = bml.pick(default=6_000, gpu=120_000)
print(f"profile {bml.get_profile()!r}: {n_rows:,} training rows; network allowed: {bml.network_allowed()}")

# %% [markdown]
# To try the other profile, set the variable before starting JupyterLab, e.g.
# `BIGMODEL_PROFILE=gpu ./course lab`. An unknown name is an error that lists the
# allowed ones:

# %%
os.environ["BIGMODEL_PROFILE"] = "laptop"
try:
    bml.get_profile()
except ValueError as err:
    print("ValueError:", err)
finally:
    del os.environ["BIGMODEL_PROFILE"]

# %% [markdown]
# ## 3. Sliders redraw plots
#
# Most chapters have a **widget** (交互控件): change one thing, watch the picture redraw. Here a
# slider sets the curvature $a$ of $f(w) = a\,(w-3)^2$ and the learning rate $\eta$ of
# one gradient-descent step $w \leftarrow w - \eta\, f'(w)$ from $w = 0$.
# Look for the step *overshooting* the minimum once $\eta\,2a > 1$.

# %%
def f(w, a):
    return a * (w - 3.0) ** 2


def grad_f(w, a):
    return 2.0 * a * (w - 3.0)


def draw_step(a=1.0, lr=0.3):
    w = np.linspace(-2, 8, 200)
    w0 = 0.0
    w1 = w0 - lr * grad_f(w0, a)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(w, f(w, a), label="$f(w) = a(w-3)^2$")
    ax.annotate("", xy=(w1, f(w1, a)), xytext=(w0, f(w0, a)),
                arrowprops=dict(arrowstyle="->", color="C3", lw=2))
    ax.plot([w0, w1], [f(w0, a), f(w1, a)], "o", color="C3", label="one step from $w=0$")
    ax.set(title=f"one gradient step, a={a:.2f}, lr={lr:.2f}", xlabel="w", ylabel="f(w)",
           ylim=(-1, f(-2, 2.0)))
    ax.legend(loc="upper center")
    plt.show()


# %% tags=["nbval-ignore-output"]
import ipywidgets as widgets

widgets.interact(draw_step,
                 a=widgets.FloatSlider(value=1.0, min=0.2, max=2.0, step=0.1, description="a"),
                 lr=widgets.FloatSlider(value=0.3, min=0.05, max=1.2, step=0.05, description="lr"));

# %% [markdown]
# ## 4. Live loss plots
#
# Training loops report their loss to a `LivePlot`. In JupyterLab and Colab it redraws
# *one* figure in place while the loop runs; when a notebook runs as a test (no one
# watching), it draws only the final figure. Here it follows gradient descent on
# $f(w) = (w-3)^2$, with a progress bar from `tqdm.auto`.

# %% tags=["nbval-ignore-output"]
import time

from bigmodel_lib.plots import LivePlot
from bigmodel_lib.progress import progress


def gradient_descent(lr, steps=40, a=1.0, w=0.0, plot=None, delay=0.0):
    """Minimise a(w-3)^2 from w; report every step's loss to `plot`; return the losses."""
    losses = []
    for step in range(steps):
        loss = f(w, a)
        losses.append(loss)
        if plot is not None:
            plot.update(step, loss=loss)
        w -= lr * grad_f(w, a)
        time.sleep(delay)  # only so that the redraw is visible
    return losses


plot = LivePlot(title="gradient descent on (w-3)^2, lr=0.1", ylabel="f(w)", logy=True)
losses = [None]
for _ in progress(range(1), desc="training"):
    losses = gradient_descent(lr=0.1, plot=plot, delay=0.02)
plot.close();

# %% [markdown]
# The loss falls by the same factor every step: $w_{t+1} - 3 = (1 - 2\eta)(w_t - 3)$,
# so $f$ shrinks by $(1-2\eta)^2 = 0.64$ per step at $\eta = 0.1$. We can check that:

# %%
bml.check(losses[1] / losses[0], (1 - 2 * 0.1) ** 2, "loss ratio per step")
bml.check(len(losses), 40, "number of steps")

# %% [markdown]
# A widget's callback can feed a `LivePlot` too: give it an `ipywidgets.Output` and it
# draws inside. Move the learning rate and watch the curve: below 1 it converges,
# at exactly 1 it bounces between 0 and 6 forever, above 1 it diverges.

# %% tags=["nbval-ignore-output"]
out = widgets.Output()
lr_slider = widgets.FloatSlider(value=0.1, min=0.05, max=1.05, step=0.05, description="lr")


def on_lr_change(change=None):
    live = LivePlot(title=f"gradient descent, lr={lr_slider.value:.2f}", ylabel="f(w)",
                    logy=True, out=out, min_interval=0.2)
    gradient_descent(lr=lr_slider.value, steps=30, plot=live)
    live.close()


lr_slider.observe(on_lr_change, names="value")
on_lr_change()
widgets.VBox([lr_slider, out])

# %% [markdown]
# ## 5. Self-checks
#
# A **self-check** (自检), `bml.check(got, expected, name)`, compares your result with the right one (with a
# tolerance for floats, arrays and tensors) and prints a verdict with both values.
# In your notebook a wrong answer prints **FAIL** and lets you carry on; when the
# course runs as a test, it raises, so a wrong formula can never slip into the course.

# %%
from bigmodel_lib.checks import CheckFailed

bml.check(torch.tensor([0.1 + 0.2, 1.0]), [0.3, 1.0], "floats compare with a tolerance")
try:
    bml.check(2 + 2, 5, "a deliberately wrong answer")
except CheckFailed:
    print("(raised, because this notebook is running as a test)")

# %% [markdown]
# ## 6. Colab
#
# The badge at the top opens the notebook on Colab. The first code cell of every
# chapter notices Colab, clones the course and installs its library *without*
# replacing Colab's torch. Choose a GPU runtime (Runtime → Change runtime type) and
# the `gpu` profile is selected by itself.
#
# ## Exercises
#
# **Exercise 1.** For $f(w) = a(w-3)^2$ with $a = 2$, what is the largest learning rate
# for which gradient descent still converges? (Hint: the error is multiplied by
# $1 - 2a\eta$ each step.) Compute it and check it with `bml.check(your_value, ...)`.
#
# **Exercise 2.** Starting from $w = 0$ with $a = 1$ and $\eta = 0.25$, what is $w$ after
# 3 steps? Work it out with the contraction factor, then check it by running
# `gradient_descent`.

# %% [markdown]
# ### Solutions
# Expand the hidden cell to see them.

# %% jupyter={"source_hidden": true}
# Exercise 1: |1 - 2*a*lr| < 1  <=>  0 < lr < 1/a.
a = 2.0
largest_lr = 1.0 / a
bml.check(largest_lr, 0.5, "largest learning rate for a=2 (exclusive)")
bml.check(gradient_descent(lr=0.45, a=a, steps=200)[-1] < 1e-6, True, "lr below 1/a converges")
bml.check(gradient_descent(lr=0.55, a=a, steps=200)[-1] > 1e3, True, "lr above 1/a diverges")

# Exercise 2: w_t - 3 = (1 - 2*lr)^t (w_0 - 3) = 0.5^3 * (-3).
w3 = 3.0 + (1 - 2 * 0.25) ** 3 * (0.0 - 3.0)
w = 0.0
for _ in range(3):
    w -= 0.25 * grad_f(w, 1.0)
bml.check(w, w3, "w after 3 steps")

# %% [markdown]
# ## Summary
# - `./course lab` opens the course; `./course test` runs every test, notebooks included.
# - `environment_report()` says OK/FAIL per requirement.
# - Profiles scale each chapter: `default` (CPU, offline) and `gpu` (Colab).
# - Widgets redraw plots, `LivePlot` follows training, `progress` shows how far a loop is.
# - `check` compares your answers with the right ones.
#
# **Further reading:** [JupyterLab docs](https://jupyterlab.readthedocs.io),
# [ipywidgets](https://ipywidgets.readthedocs.io), [PyTorch tutorials](https://pytorch.org/tutorials/).
# Next: chapter 01, what makes a model *big*, and what it costs.

"""How much does ``fit`` cost on top of a bare hand-written loop? (chapter 05)

Trains the same MLP on the same tensors for the same number of epochs, once with a
bare loop (shuffle, forward, loss, backward, step: nothing else) and once with
``bigmodel_lib.train.fit`` (defaults: progress bar on, loss tracking, NaN checks).
The two are interleaved and repeated, alternating which goes first, and the script
prints the medians and the ratio fit / bare (goal: <= 1.03). On a shared machine
the single timings are noisy; the medians of interleaved pairs are not.

    python benchmarks/bench_fit.py [--repeats 9] [--epochs 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from bigmodel_lib.train import fit


def make_model(seed: int, d_in: int, hidden: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 2))


def bare_loop(model, X, y, epochs, batch_size, lr, seed):
    """The five steps and nothing else (shuffling with a seeded generator, like fit)."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=g)
        for i in range(0, len(X), batch_size):
            idx = order[i:i + batch_size]
            loss = loss_fn(model(X[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def with_fit(model, X, y, epochs, batch_size, lr, seed, progress):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    fit(model, (X, y), nn.CrossEntropyLoss(), opt, epochs=epochs, batch_size=batch_size,
        seed=seed, progress=progress, live_plot=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rows", type=int, default=8192)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(args.rows, 32, generator=g)
    y = (X[:, :4].sum(1) > 0).long()
    kw = dict(epochs=args.epochs, batch_size=args.batch_size, lr=0.05, seed=0)
    runs = {
        "bare loop": lambda m: bare_loop(m, X, y, **kw),
        "fit (progress bar)": lambda m: with_fit(m, X, y, progress=True, **kw),
        "fit (no bar)": lambda m: with_fit(m, X, y, progress=False, **kw),
    }
    for run in runs.values():  # warm-up: allocator, first-call costs
        run(make_model(0, 32, args.hidden))
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(args.repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            model = make_model(r, 32, args.hidden)
            start = time.perf_counter()
            runs[name](model)
            times[name].append(time.perf_counter() - start)
    steps = args.epochs * -(-args.rows // args.batch_size)
    bare = statistics.median(times["bare loop"])
    print(f"{steps} steps per run ({args.rows} rows, batch {args.batch_size}, MLP 32-"
          f"{args.hidden}-{args.hidden}-2, {args.threads} thread(s)), {args.repeats} interleaved "
          "repeats, medians:")
    for name in names:
        med = statistics.median(times[name])
        pair = statistics.median(t / b for t, b in zip(times[name], times["bare loop"],
                                                        strict=True))
        print(f"  {name:<20} {med:7.3f} s  {1e6 * med / steps:7.1f} us/step  "
              f"ratio to bare {med / bare:.3f} (median of paired ratios {pair:.3f})")


if __name__ == "__main__":
    main()

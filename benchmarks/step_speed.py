"""Training- and inference-step throughput of MiniLM on this CPU (chapter 08 experiments).

    python benchmarks/step_speed.py [--steps 6]

Times optimizer steps (forward + backward + AdamW) on random token ids of a fixed
length, for several settings, and prints examples per second. Ratios within one run
are what matter: the machine is shared, so absolute numbers are noisy.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from transformers import AutoModelForSequenceClassification, logging

from bigmodel_lib.models import verify_minilm


def make_model(freeze_embeddings: bool, freeze_layers: int):
    logging.set_verbosity_error()
    model = AutoModelForSequenceClassification.from_pretrained(str(verify_minilm()), num_labels=4)
    if freeze_embeddings:
        model.bert.embeddings.requires_grad_(False)
    for layer in model.bert.encoder.layer[:freeze_layers]:
        layer.requires_grad_(False)
    return model


def time_train(model, batch, length, amp, steps):
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    ids = torch.randint(1000, 30000, (batch, length))
    mask = torch.ones_like(ids)
    y = torch.randint(0, 4, (batch,))
    model.train()
    for i in range(steps + 2):
        if i == 2:
            start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            out = model(input_ids=ids, attention_mask=mask)
        loss = torch.nn.functional.cross_entropy(out.logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * batch / (time.perf_counter() - start)


def time_eval(model, batch, length, amp, steps):
    ids = torch.randint(1000, 30000, (batch, length))
    mask = torch.ones_like(ids)
    model.eval()
    with torch.inference_mode():
        for i in range(steps + 1):
            if i == 1:
                start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
                model(input_ids=ids, attention_mask=mask)
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"load: {os.getloadavg()}")
    configs = [  # (batch, length, amp, freeze_embeddings, freeze_layers)
        (32, 64, False, False, 0),
        (32, 64, True, False, 0),
        (32, 64, False, True, 0),
        (32, 64, True, True, 0),
        (32, 48, True, True, 0),
        (32, 32, True, True, 0),
        (32, 64, True, True, 2),
        (64, 48, True, True, 0),
    ]
    for batch, length, amp, freeze_emb, freeze_layers in configs:
        torch.manual_seed(0)
        model = make_model(freeze_emb, freeze_layers)
        train = time_train(model, batch, length, amp, args.steps)
        print(f"train batch={batch} len={length} bf16={amp!s:5} freeze_emb={freeze_emb!s:5} "
              f"freeze_layers={freeze_layers}: {train:6.1f} ex/s", flush=True)
    model = make_model(False, 0)
    for length, amp in ((64, False), (64, True), (48, True), (32, True)):
        ev = time_eval(model, 256, length, amp, 3)
        print(f"eval batch=256 len={length} bf16={amp!s:5}: {ev:6.1f} ex/s", flush=True)
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()

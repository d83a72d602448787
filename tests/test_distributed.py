"""bigmodel_lib.distributed: two real gloo processes end where one process on the whole batch ends."""

import pytest
import torch

from bigmodel_lib import distributed as D

RUNS = [dict(optimizer="sgd", steps=6, lr=0.1), dict(optimizer="adamw", steps=6, lr=0.01),
        dict(optimizer="sgd", steps=6, lr=0.1, by_hand=True)]


def test_two_processes_end_with_the_weights_of_one_on_the_whole_batch():
    # one pair of real gloo processes runs DDP with SGD, DDP with AdamW, and all_reduce by hand
    rank0, rank1 = D.spawn(D.train_data_parallel_runs, 2, RUNS)
    for run, a, b in zip(RUNS, rank0, rank1, strict=True):
        reference = D.train_single(run["optimizer"], run["steps"], lr=run["lr"])
        assert D.max_difference(a, b) == 0.0, run  # every copy took the same steps
        assert D.max_difference(a, reference) <= 1e-6, run
        # the run moved the weights, so the comparison is not trivially true
        assert D.max_difference(reference, D.small_model(0).state_dict()) > 1e-2, run


def test_one_share_alone_is_a_different_run():
    # the all-reduce matters: a process that trains on its half alone ends elsewhere
    alone = D.train_data_parallel(0, 2, "sgd", 6, 16, 0.1, 0, by_hand=True)  # no group: no averaging
    assert D.max_difference(alone, D.train_single("sgd", 6, 16, 0.1, 0)) > 1e-3


def test_single_process_world(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    here = D.init_from_env()
    assert (here.rank, here.world_size, here.backend, here.is_main) == (0, 1, None, True)
    assert D.shard([1, 2, 3]) == [1, 2, 3]
    model = torch.nn.Linear(2, 2)
    assert D.wrap_ddp(model) is model


def test_sampler_shares_are_equal_and_cover_the_data(monkeypatch):
    class TwoRanks:
        world_size = 2

        def __init__(self, rank):
            self.rank = rank

    shares = []
    for rank in range(2):
        monkeypatch.setattr(D, "world", lambda rank=rank: TwoRanks(rank))
        shares.append(list(D.shard_sampler(7, seed=3)))
    assert len(shares[0]) == len(shares[1]) == 4  # 7 rows: one repeated to make the shares equal
    assert set(shares[0]) | set(shares[1]) == set(range(7))


def test_more_processes_than_examples_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(D, "world", lambda: D.World(rank=0, world_size=4))
    with pytest.raises(ValueError, match="3 examples cannot be shared by 4 processes"):
        D.shard_sampler([1, 2, 3])


def test_backend_errors_are_clear(monkeypatch):
    with pytest.raises(D.DistributedSetupError, match="backend must be one of"):
        D.check_backend("mpi")
    if not torch.cuda.is_available():
        with pytest.raises(D.DistributedSetupError, match="nccl.*(not available|needs NVIDIA GPUs)"):
            D.check_backend("nccl")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(D.DistributedSetupError, match="torchrun"):
        D.init_from_env("gloo")
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(D.DistributedSetupError, match="WORLD_SIZE"):
        D.init_from_env("gloo")


def test_a_batch_that_does_not_split_evenly_is_refused():
    # (in spawn, such an error comes back as a RuntimeError with the process's traceback)
    with pytest.raises(ValueError, match="batch=15 must split evenly over 2 processes"):
        D.train_data_parallel(0, 2, "sgd", 1, 15)


def test_spawn_rejects_bad_arguments():
    with pytest.raises(ValueError, match="world_size"):
        D.spawn(D.train_data_parallel, 0)
    with pytest.raises(D.DistributedSetupError, match="backend"):
        D.spawn(D.train_data_parallel, 2, backend="mpi")


def test_torchrun_fine_tunes_data_parallel_on_the_bundled_corpus(tmp_path):
    # a tiny random BERT saved as a local model folder, with MiniLM's tokenizer
    import json
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from bigmodel_lib.models import minilm_dir

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()), local_files_only=True)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=80,
                        num_labels=4)
    torch.manual_seed(0)
    folder = tmp_path / "tiny-bert"
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    out = tmp_path / "results.json"
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    data = Path(__file__).resolve().parents[1] / "data" / "news"
    run = subprocess.run(
        [torchrun, "--nproc-per-node", "2", "--master-addr", "127.0.0.1", "--master-port",
         str(D.free_port()), "-m", "bigmodel_lib.bench", "news", "--train", str(data / "train.csv"),
         "--test", str(data / "test.csv"), "--model", str(folder), "--max-train", "40",
         "--max-length", "16", "--epochs", "1", "--threads", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("accuracy  ") == 1  # rank 0 alone prints
    result = json.loads(out.read_text())
    assert result["processes"] == 2
    assert result["train_examples"] == 40  # 20 rows on each of the two processes
    assert result["test_rows"] == 240 and 0 <= result["accuracy"] <= 1

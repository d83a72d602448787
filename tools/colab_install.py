"""Install the course into a runtime that already has most of what it needs (Colab).

The notebooks' setup cell runs this on Colab after cloning the course:

    python /content/bigmodel-course/tools/colab_install.py

It installs the course (editable) and only the requirements the runtime lacks, and never
upgrades, downgrades or replaces a package that is already installed: every installed
distribution is pinned to its present version in a pip constraints file. Colab imports
ipywidgets when the kernel starts, so an upgrade would ask the learner to restart the
runtime before they typed anything; with the pins pip either leaves everything as it is
or stops with an error naming the conflict. Standard library only (it runs before the
course is importable).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def installed() -> dict[str, str]:
    """Every installed distribution: normalised name -> version."""
    found = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            found[name.lower().replace("_", "-").replace(".", "-")] = dist.version
    return found


def install(root: Path = ROOT, quiet: bool = True) -> dict[str, str]:
    """``pip install -e root`` with every installed package held at its version; returns what was added."""
    before = installed()
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as pins:
        pins.write("".join(f"{name}=={version}\n" for name, version in sorted(before.items())
                           if name != "bigmodel-lib"))
    command = [sys.executable, "-m", "pip", "install", "--constraint", pins.name, "-e", str(root)]
    start = time.perf_counter()
    subprocess.run(command + (["--quiet"] if quiet else []), check=True)
    after = installed()
    changed = {n: f"{before[n]} -> {after.get(n, 'removed')}" for n in before if after.get(n) != before[n]}
    if changed:  # pip honours the pins, so this means something else ran; say so loudly
        raise SystemExit(f"colab_install: preinstalled packages changed: {changed}")
    added = {n: v for n, v in after.items() if n not in before}
    print(f"course installed in {time.perf_counter() - start:.0f} s; added {len(added)} packages "
          f"({', '.join(sorted(added)) or 'none'}); nothing preinstalled was changed")
    Path(pins.name).unlink()
    return added


if __name__ == "__main__":
    install()

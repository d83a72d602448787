"""bigmodel_lib: the small, tested library behind the course on big AI models.

One module per idea; each docstring names the chapter that explains it.
The foundation (chapter 00) is re-exported here so a setup cell needs one import.
"""

from bigmodel_lib.checks import check
from bigmodel_lib.env import (
    PROFILES,
    get_device,
    get_profile,
    in_colab,
    network_allowed,
    pick,
    seed_everything,
    setup,
)

__version__ = "0.1.0"

__all__ = [
    "PROFILES",
    "check",
    "get_device",
    "get_profile",
    "in_colab",
    "network_allowed",
    "pick",
    "seed_everything",
    "setup",
]

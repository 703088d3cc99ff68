"""Seeding and a record of the machine and library versions, saved with every run and benchmark."""
from __future__ import annotations

import datetime as _dt
import os
import platform
import random
from importlib import metadata

import numpy as np

PACKAGES = ["emobench", "torch", "transformers", "tokenizers", "accelerate", "scikit-learn", "numpy", "scipy"]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)
    # Same seed, same machine, same metrics: deterministic kernels where torch has them.
    torch.use_deterministic_algorithms(True, warn_only=True)


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def machine_info() -> dict:
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info

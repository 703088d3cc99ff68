"""Seeding and a record of the machine and library versions, saved with every run and benchmark."""
from __future__ import annotations

import datetime as _dt
import os
import platform
import random
from importlib import metadata

import numpy as np

PACKAGES = ["emobench", "torch", "transformers", "tokenizers", "accelerate", "scikit-learn", "numpy", "scipy",
            "onnxruntime", "fastapi", "optuna", "mlflow-skinny", "ray"]


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


def cpu_budget() -> int:
    """The CPU cores this process may really use: its affinity, capped by a cgroup CPU quota (containers often
    report the host's cores while allowing two; torch would start a thread per reported core and oversubscribe)."""
    import math
    from pathlib import Path

    try:
        budget = len(os.sched_getaffinity(0))
    except AttributeError:
        budget = os.cpu_count() or 1
    for path, parse in (("/sys/fs/cgroup/cpu.max", lambda t: t.split()),
                        ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", None)):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if parse:
            quota, period = parse(text)[:2]
        else:
            quota, period = text, Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text().strip()
        if quota not in ("max", "-1") and int(period) > 0:
            budget = min(budget, max(1, math.ceil(int(quota) / int(period))))
        break
    return max(1, budget)


def limit_torch_threads() -> None:
    """Never more torch threads than usable cores (oversubscribed, small LSTM steps ran 3x slower here)."""
    import torch

    budget = cpu_budget()
    if torch.get_num_threads() > budget:
        torch.set_num_threads(budget)


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

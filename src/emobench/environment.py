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


_THREADS: int | None = None


def thread_count() -> int:
    """Threads for torch and ONNX Runtime, chosen once per process: ``EMOBENCH_THREADS`` (a number, or "all") if set,
    else every usable core (:func:`cpu_budget`). Never from the machine's load: the thread count changes how torch
    splits its sums, so a count read from the load at start moved the GoEmotions LSTM from 0.4173 to 0.4162 (same
    seed, same CPU). On a busy machine fewer threads are faster (on 2 cores beside one busy process, two spinning
    OpenMP threads made an LSTM epoch 3.8x slower, one thread 1.0x: benchmarks/contention.py); that is the user's
    choice (``--threads 1``), recorded in each run."""
    global _THREADS
    if _THREADS is None:
        from .errors import EmobenchError, option

        budget, chosen = cpu_budget(), os.environ.get("EMOBENCH_THREADS", "").strip().lower()
        if chosen == "all":
            _THREADS = budget
        elif chosen:
            if not chosen.isascii() or not chosen.isdigit() or not 1 <= int(chosen) <= 4096:
                raise EmobenchError(f"{option('threads')} {chosen!r}: expected a number of threads from 1 to 4,096, or all")
            _THREADS = min(budget, int(chosen))
            if int(chosen) > budget:
                import warnings

                from .errors import EmobenchWarning

                warnings.warn(f"{option('threads')} {chosen}: this process may use {budget} core(s); {budget} thread(s) "
                              "are used (recorded in each run)", EmobenchWarning, stacklevel=2)
        else:
            _THREADS = budget
    return _THREADS


def set_thread_count(threads: int) -> None:
    """Use ``threads`` from now on (a Ray task runs with the threads its driver chose, so the metrics are the local
    engine's)."""
    global _THREADS
    _THREADS = max(1, int(threads))


def limit_torch_threads() -> None:
    """torch uses :func:`thread_count` threads (never more than usable cores: oversubscribed, small LSTM steps ran
    3x slower here)."""
    import torch

    if torch.get_num_threads() != thread_count():
        torch.set_num_threads(thread_count())


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

        limit_torch_threads()  # what training and inference will use, not torch's default before they set it
        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info

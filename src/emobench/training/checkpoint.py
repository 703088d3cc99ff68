"""Crash-safe, pickle-free checkpoints of the training loop.

A checkpoint is a folder ``ckpt-NNNN`` (the epoch) holding the model weights, the optimizer state
(tensors as safetensors, the rest as JSON), every process's random-number state and ``state.json``
(epoch, best score, history, scheduler; their types are ``records/checkpoint.py``'s). It is written as ``ckpt-NNNN.tmp`` and renamed when complete;
older checkpoints are deleted only after that, and the best epoch's weights are a separate
``best-NNNN.safetensors`` written through a temporary file. A kill at any instant therefore leaves the
previous complete checkpoint (or the new one), never a half one.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..records.checkpoint import STATE_FILE, CheckpointState, OptimizerState

_CKPT = re.compile(r"^ckpt-(\d+)$")
_BEST = re.compile(r"^best-(\d+)\.safetensors$")


def tensors_for_saving(state_dict: dict) -> dict[str, torch.Tensor]:
    """CPU copies with their own storage (safetensors refuses tensors that share memory, as cuDNN's
    flattened LSTM weights do)."""
    return {k: v.detach().to("cpu").clone().contiguous() for k, v in state_dict.items()}


def save_weights(state_dict: dict, path: Path, metadata: dict[str, str] | None = None) -> None:
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors_for_saving(state_dict), str(tmp), metadata={"format": "pt", **(metadata or {})})
    os.replace(tmp, path)


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def _optimizer_parts(state: dict) -> tuple[dict, OptimizerState]:
    tensors, rest = {}, {}
    for pid, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{pid}.{name}"] = value
            else:
                rest.setdefault(str(pid), {})[name] = value
    return tensors, OptimizerState(param_groups=state["param_groups"], state=rest)


def _optimizer_state(tensors: dict, rest: OptimizerState) -> dict:
    state: dict = {}
    for key, value in tensors.items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    for pid, values in rest.state.items():
        state.setdefault(int(pid), {}).update(values)
    return {"state": state, "param_groups": rest.param_groups}


def rng_state() -> dict[str, torch.Tensor]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            state[f"cuda.{i}"] = s
    return state


def set_rng_state(state: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(state["torch"])
    cuda = [state[k] for k in sorted((k for k in state if k.startswith("cuda.")), key=lambda k: int(k[5:]))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def write_part(tmp: Path, model_state: dict | None, optimizer_state: dict | None, process_index: int) -> None:
    """One process's share of a checkpoint into the temporary folder: its RNG state, and (main process)
    the model and optimizer."""
    tmp.mkdir(parents=True, exist_ok=True)
    save_file(rng_state(), str(tmp / f"rng-{process_index}.safetensors"))
    if model_state is not None:
        save_file(tensors_for_saving(model_state), str(tmp / "model.safetensors"), metadata={"format": "pt"})
    if optimizer_state is not None:
        tensors, rest = _optimizer_parts(optimizer_state)
        save_file(tensors_for_saving(tensors), str(tmp / "optimizer.safetensors"))
        rest.write(tmp)


def commit(work_dir: Path, epoch: int, state: CheckpointState) -> Path:
    """Main process, after every process wrote its part: the state, rename, then delete what is stale."""
    tmp = work_dir / f"ckpt-{epoch:04d}.tmp"
    state.write(tmp)
    final = work_dir / f"ckpt-{epoch:04d}"
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    prune(work_dir, keep=final, best=state.best_file)
    return final


def prune(work_dir: Path, keep: Path, best: str | None) -> None:
    for entry in work_dir.iterdir():
        stale_ckpt = entry != keep and (_CKPT.match(entry.name) or entry.name.endswith(".tmp"))
        stale_best = _BEST.match(entry.name) and entry.name != best
        if stale_ckpt:
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
        elif stale_best:
            entry.unlink(missing_ok=True)


def latest(work_dir: Path) -> Path | None:
    """The newest complete checkpoint folder, or None."""
    if not work_dir.is_dir():
        return None
    found = [(int(m.group(1)), e) for e in work_dir.iterdir() if (m := _CKPT.match(e.name)) and (e / STATE_FILE).is_file()]
    return max(found)[1] if found else None


@dataclass
class Checkpoint:
    """Everything a checkpoint holds, for one process (``rng`` None: this process wrote no random state)."""

    state: CheckpointState
    model: dict[str, torch.Tensor]
    optimizer: dict
    rng: dict[str, torch.Tensor] | None


def read(folder: Path, process_index: int) -> Checkpoint:
    from ..files import read_tensors

    state = CheckpointState.read(folder)
    optimizer = _optimizer_state(read_tensors(folder / "optimizer.safetensors", "torch"), OptimizerState.read(folder))
    rng_file = folder / f"rng-{process_index}.safetensors"
    return Checkpoint(state, read_tensors(folder / "model.safetensors", "torch"), optimizer,
                      read_tensors(rng_file, "torch") if rng_file.is_file() else None)

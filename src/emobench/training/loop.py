"""The one training loop for every torch model (LSTM and transformers alike), on Hugging Face Accelerate.

A family hands the loop a module whose ``forward(**batch)`` returns logits, its encoded examples
(one dict of token lists per text) and a ``collate`` that pads a list of them into tensors. The loop
does the rest: length-bucketed batches with dynamic padding, optimizer and schedule from config,
gradient clipping, evaluation on the whole validation set every epoch, early stopping, the best
checkpoint, per-epoch history, progress, and resumable checkpoints.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import gather_object, set_seed
from tqdm.auto import tqdm

from ..batching import batch_logits, length_of, length_order
from ..logs import bars, logger
from ..records.checkpoint import CheckpointState
from ..records.run import EpochRecord
from . import checkpoint
from .epochs import describe, repeats_for, still_rising
from .epochs import validation_scores as _validation_scores  # looked up here at each fit (tests script the scores)
from .sampler import LengthBucketBatches
from .params import TrainParams

__all__ = ["Trainer", "LengthBucketBatches", "repeats_for", "still_rising"]


class _Examples(torch.utils.data.Dataset):
    def __init__(self, features: list[dict], labels):
        self.features, self.labels = features, labels

    def __len__(self):
        return len(self.features)

    def __getitem__(self, i):
        item = dict(self.features[i])
        item["index"] = i
        if self.labels is not None:
            item["labels"] = self.labels[i]
        return item


def _collate_with(collate: Callable[[list[dict]], dict]):
    def wrapped(items: list[dict]) -> dict:
        batch = collate([{k: v for k, v in it.items() if k not in ("index", "labels")} for it in items])
        batch["index"] = torch.tensor([it["index"] for it in items])
        if "labels" in items[0]:
            batch["labels"] = torch.from_numpy(np.stack([np.asarray(it["labels"]) for it in items]))
        return batch

    return wrapped


@dataclass
class _Prepared:
    """One fit's objects, as Accelerate prepared them (``work_dir`` None: nothing is checkpointed)."""

    module: torch.nn.Module
    optimizer: torch.optim.Optimizer
    loader: torch.utils.data.DataLoader
    scheduler: object
    sampler: LengthBucketBatches
    loss_fn: torch.nn.Module
    per_epoch: int
    work_dir: Path | None


def soft_loss(multi_label: bool, weight: torch.Tensor | None = None) -> torch.nn.Module:
    """The training loss: binary cross-entropy per label, or cross-entropy, whose target may be class ids or rows of
    class probabilities (soft targets); both are linear in a float target, so a mixed target mixes the losses."""
    return torch.nn.BCEWithLogitsLoss(pos_weight=weight) if multi_label else torch.nn.CrossEntropyLoss(weight=weight)


def _fresh_precision(wanted: str) -> None:
    """Accelerate keeps one precision per process: a process that trains models of several precisions (a comparison,
    a stack's members, a bf16 run after an fp32 one) would be refused the second. In a single process the precision
    state is dropped when it differs (the process group's state is kept); launched processes share one run's."""
    from accelerate.state import AcceleratorState, PartialState

    state = AcceleratorState._shared_state
    if state and state.get("_mixed_precision", wanted) != wanted and PartialState().num_processes == 1:
        AcceleratorState._reset_state()


def _after_epoch(epoch: int) -> None:
    """Called after each epoch's checkpoint is written (a seam for interrupting tests)."""


class Trainer:
    def __init__(self, module: torch.nn.Module, collate: Callable, params: TrainParams, num_labels: int,
                 seed: int = 0, progress: bool = True, multi_label: bool = False,
                 scores: Callable[[np.ndarray, np.ndarray], dict] | None = None):
        """``multi_label``: labels are 0/1 rows and the loss is binary cross-entropy per label; ``scores``
        turns validation logits and labels into the epoch's record (default: single-label scores)."""
        self.module = module
        self.raw_collate = collate
        self.collate = _collate_with(collate)
        self.params = params
        self.num_labels = num_labels
        self.seed = seed
        self.multi_label = multi_label
        self.scores = scores or _validation_scores
        # On a machine without an accelerator, say so: then several launched processes (torchrun,
        # `accelerate launch --multi_gpu`) form a gloo process group instead of running alone.
        has_device = torch.cuda.is_available() or torch.backends.mps.is_available()
        on_cpu = params.cpu or not has_device
        precision = ("bf16" if params.cpu_bf16 else "no") if on_cpu else params.mixed_precision
        _fresh_precision(precision)
        self.accelerator = Accelerator(cpu=on_cpu, mixed_precision=precision)
        if self.accelerator.device.type == "cpu":
            from ..environment import limit_torch_threads

            limit_torch_threads()
        if self.accelerator.device.type == "cuda":  # TF32 matmuls where bf16 autocast does not reach
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        if params.compile:
            # Shapes repeat (length buckets padded to multiples of 8 on a GPU), so graphs are reused.
            self.module = torch.compile(self.module, dynamic=None)
        # Bars only on a terminal: a log file gets one line per epoch instead of thousands of bar updates.
        self.progress = bars(progress) and self.accelerator.is_local_main_process
        self.history: list[EpochRecord] = []
        self.warnings: list[str] = []  # said once training ends, to be recorded with the model

    # ------------------------------------------------------------------ training
    def fit(self, train_features, train_labels, val_features=None, val_labels=None, work_dir: Path | None = None,
            resume: bool = False, on_epoch: Callable[[EpochRecord], None] | None = None) -> list[EpochRecord]:
        p, acc = self.params, self.accelerator
        set_seed(self.seed)
        # Denormal floats (tiny gradients late in training) take a slow path on x86 CPUs; flushing them to zero
        # saved about 4% of a MiniLM step on 2 cores. Process-wide in torch, so it is switched off again below.
        flush = p.flush_denormal and acc.device.type == "cpu" and torch.set_flush_denormal(True)
        try:
            return self._fit(train_features, train_labels, val_features, val_labels, work_dir, resume, on_epoch)
        finally:
            if flush:
                torch.set_flush_denormal(False)

    def _fit(self, train_features, train_labels, val_features, val_labels, work_dir, resume,
             on_epoch) -> list[EpochRecord]:
        run = self._prepare(train_features, train_labels, work_dir)
        state, best_state = CheckpointState(), None
        if resume and run.work_dir is not None:
            state, best_state = self._resume(run)
        self.history = state.history
        for epoch in range(state.epoch + 1, self.epochs + 1):
            # early stopping, once the minimum of optimizer steps is done (a budget is not cut short by patience)
            if self.params.patience and state.bad_epochs >= self.params.patience and \
                    (epoch - 1) * run.per_epoch >= self.params.min_steps:
                break
            started = time.perf_counter()
            record = self._train_epoch(run, epoch)
            if val_features is not None and len(val_features):
                logits, _ = self.predict_logits(val_features, return_indices=True)
                record.update(self.scores(logits, np.asarray(val_labels)))
            record["seconds"] = time.perf_counter() - started
            epoch_record = EpochRecord(**record)
            self.history.append(epoch_record)
            best_state = self._keep_best(run, state, epoch_record, best_state)
            state.epoch, state.history = epoch, self.history
            if run.work_dir is not None:
                saving = time.perf_counter()
                self._checkpoint(run.work_dir, state, run.module, run.optimizer, run.scheduler)
                epoch_record.checkpoint_seconds = time.perf_counter() - saving
            if self.accelerator.is_main_process:
                logger.info(describe(epoch_record, self.epochs))
            _after_epoch(epoch)
            if on_epoch is not None:
                on_epoch(epoch_record.model_copy())
        self._finish(run, state, best_state)
        return self.history

    def _prepare(self, train_features, train_labels, work_dir) -> _Prepared:
        """The loader, optimizer, schedule and loss, prepared by Accelerate."""
        p, acc = self.params, self.accelerator
        # Checkpoints exist to resume: without a work_dir nothing can resume, so the best epoch's weights are
        # kept in memory only and nothing is written.
        if work_dir is not None:
            work_dir = Path(work_dir)
            work_dir.mkdir(parents=True, exist_ok=True)
        # Small data: an epoch goes over the training texts as often as it takes for the run to make min_steps optimizer
        # steps (a budget is set in steps, not only in epochs), so 96 texts still train, and validation runs p.epochs
        # times, not hundreds.
        self.repeats = repeats_for(len(train_features), p.min_steps, p.epochs, p.batch_size, acc.num_processes)
        if self.repeats > 1:
            train_features = list(train_features) * self.repeats
            train_labels = np.concatenate([np.asarray(train_labels)] * self.repeats)
        sampler = LengthBucketBatches([length_of(f) for f in train_features], p.batch_size, self.seed, p.bucket_batches)
        on_gpu = acc.device.type == "cuda"
        loader = torch.utils.data.DataLoader(_Examples(train_features, train_labels), batch_sampler=sampler,
                                             collate_fn=self.collate, pin_memory=on_gpu,
                                             num_workers=p.loader_workers if on_gpu else 0,
                                             persistent_workers=on_gpu and p.loader_workers > 0)
        optimizer = self._optimizer()
        per_epoch = math.ceil(len(sampler) / acc.num_processes)
        self.epochs = p.epochs
        scheduler = self._scheduler(optimizer, self.epochs * per_epoch)
        # float rows where a single-label model learns from soft targets (a teacher's probabilities): cross-entropy takes
        # class probabilities as its target (soft_loss)
        soft = not self.multi_label and np.asarray(train_labels).ndim == 2
        train_labels = np.asarray(train_labels, dtype=np.float32 if self.multi_label or soft else np.int64)
        weight = self._class_weight(train_labels)
        module, optimizer, loader, scheduler = acc.prepare(self.module, optimizer, loader, scheduler)
        weight = weight.to(acc.device) if weight is not None else None
        loss_fn = soft_loss(self.multi_label, weight)
        return _Prepared(module, optimizer, loader, scheduler, sampler, loss_fn, per_epoch, work_dir)

    def _resume(self, run: _Prepared) -> tuple[CheckpointState, dict | None]:
        """The newest checkpoint's weights, optimizer, schedule and random state, and the best epoch's weights."""
        acc = self.accelerator
        last = checkpoint.latest(run.work_dir)
        if last is None:
            return CheckpointState(), None
        saved = checkpoint.read(last, acc.process_index)
        acc.unwrap_model(run.module).load_state_dict(saved.model)
        run.optimizer.load_state_dict(saved.optimizer)
        run.scheduler.scheduler.load_state_dict(saved.state.scheduler)
        if saved.rng is not None:
            checkpoint.set_rng_state(saved.rng)
        best_file = saved.state.best_file
        return saved.state, checkpoint.load_weights(run.work_dir / best_file) if best_file else None

    def _train_epoch(self, run: _Prepared, epoch: int) -> dict:
        """One pass of optimizer steps; the epoch's record so far (its training loss and schedule)."""
        p, acc = self.params, self.accelerator
        # Through the prepared loader: Accelerate otherwise sets the sampler's epoch from its own
        # iteration counter, which restarts at 0 on resume and would change the batch order.
        run.loader.set_epoch(epoch)
        run.sampler.set_epoch(epoch)  # under several processes the loader wraps the sampler in a shard
        run.module.train()
        count = 0
        total = torch.zeros((), device=acc.device)  # summed on the device: no host sync per step
        bar = tqdm(run.loader, desc=f"epoch {epoch}/{self.epochs}", disable=not self.progress, leave=False,
                   unit="batch", file=sys.stderr)
        for step, batch in enumerate(bar):
            labels = batch.pop("labels")
            batch.pop("index")
            with acc.autocast():
                logits = run.module(**batch)
                loss = run.loss_fn(logits.float(), labels)
            acc.backward(loss)
            if p.max_grad_norm:
                acc.clip_grad_norm_(run.module.parameters(), p.max_grad_norm)
            run.optimizer.step()
            run.scheduler.step()
            run.optimizer.zero_grad(set_to_none=True)
            total += loss.detach() * len(labels)
            count += len(labels)
            if self.progress and step % 25 == 0:
                bar.set_postfix(loss=f"{total.item() / count:.4f}")
        if not math.isfinite(total.item()):
            from ..errors import TrainingDiverged

            raise TrainingDiverged(f"training diverged: the training loss is {total.item()} in epoch {epoch} (non-finite "
                                   f"weights or inputs, or a learning rate too large: {p.learning_rate})")
        done = sum(getattr(h, "steps", 0) for h in self.history)  # a history resumed from an old checkpoint may lack them
        return {"epoch": epoch, "train_loss": total.item() / max(count, 1), "lr": run.scheduler.get_last_lr()[0],
                "steps": run.per_epoch, "total_steps": done + run.per_epoch, "passes": self.repeats}

    def _keep_best(self, run: _Prepared, state: CheckpointState, record: EpochRecord, best_state):
        """The best weights so far (``best_state``, or this epoch's if it scores higher), and the early-stopping count."""
        acc = self.accelerator
        score = getattr(record, "val_" + self.params.metric, -record.train_loss)
        if not (state.best is None or score > state.best):
            state.bad_epochs += 1
            return best_state
        # Kept in memory by every process (their weights are identical), on disk for resuming.
        best_state = checkpoint.tensors_for_saving(acc.unwrap_model(run.module).state_dict())
        best_file = f"best-{record.epoch:04d}.safetensors"
        if acc.is_main_process and run.work_dir is not None:
            checkpoint.save_weights(best_state, run.work_dir / best_file)
        state.best, state.best_epoch, state.best_file, state.bad_epochs = score, record.epoch, best_file, 0
        return best_state

    def _finish(self, run: _Prepared, state: CheckpointState, best_state) -> None:
        """The best epoch's weights back into the module, on the CPU, and the warnings to record with the model."""
        acc = self.accelerator
        acc.wait_for_everyone()
        # without the mixed-precision wrapper prepare() put on forward: a trained model scores in fp32 (as its ONNX
        # export does), whatever precision trained it
        self.module = acc.unwrap_model(run.module, keep_fp32_wrapper=False)
        self.module.load_state_dict(best_state)
        self.module.to("cpu").eval()
        self.best_epoch = state.best_epoch
        self.warnings = []
        rising = still_rising(self.history, self.params.metric, self.epochs)
        if rising:
            import warnings

            from ..errors import EmobenchWarning

            if acc.is_main_process:
                warnings.warn(rising, EmobenchWarning, stacklevel=4)
            # recorded with the model (the family's info), spelled as the API's parameter names
            self.warnings.append(str(EmobenchWarning(rising)))
        acc.free_memory()

    def _checkpoint(self, work_dir: Path, state: CheckpointState, module, optimizer, scheduler) -> None:
        acc = self.accelerator
        acc.wait_for_everyone()
        tmp = work_dir / f"ckpt-{state.epoch:04d}.tmp"
        main = acc.is_main_process
        checkpoint.write_part(tmp, acc.unwrap_model(module).state_dict() if main else None,
                              optimizer.state_dict() if main else None, acc.process_index)
        acc.wait_for_everyone()  # every process has written its RNG state before the folder is renamed
        if main:
            state.scheduler = scheduler.scheduler.state_dict()
            checkpoint.commit(work_dir, state.epoch, state)
        acc.wait_for_everyone()

    def _optimizer(self):
        p = self.params
        decay, no_decay = [], []
        for name, param in self.module.named_parameters():
            if param.requires_grad:
                (no_decay if param.ndim < 2 or "norm" in name.lower() else decay).append(param)
        groups = [{"params": decay, "weight_decay": p.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        # The fused kernels (CPU and CUDA) update every tensor in one pass; the per-tensor loop they replace
        # cost about a sixth of a MiniLM training step on 2 CPU cores.
        fused = {"fused": True} if self._fused_available() else {"foreach": True}
        if p.optimizer == "adamw":
            return torch.optim.AdamW(groups, lr=p.learning_rate, **fused)
        if p.optimizer == "adam":
            return torch.optim.Adam(groups, lr=p.learning_rate, **fused)
        raise AssertionError(p.optimizer)  # validated with the parameters

    def _fused_available(self) -> bool:
        params = [q for q in self.module.parameters() if q.requires_grad]
        return self.params.fused_optimizer and all(q.is_floating_point() for q in params) and \
            self.accelerator.device.type in ("cpu", "cuda")

    def _scheduler(self, optimizer, steps: int):
        p = self.params
        warmup = int(p.warmup_ratio * steps)
        if p.scheduler == "linear":
            def factor(step):
                if step < warmup:
                    return (step + 1) / max(1, warmup)
                return max(0.0, (steps - step) / max(1, steps - warmup))
        elif p.scheduler == "constant":
            def factor(step):
                return min(1.0, (step + 1) / max(1, warmup)) if warmup else 1.0
        else:
            raise AssertionError(p.scheduler)  # validated with the parameters
        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    def _class_weight(self, labels: np.ndarray) -> torch.Tensor | None:
        """"balanced": inverse class frequency (single-label), or positives weighted by negatives/positives
        per label (multi-label, as BCEWithLogitsLoss's pos_weight)."""
        if self.params.class_weight is None:
            return None
        if self.multi_label:
            positives = labels.sum(axis=0)
            weights = np.where(positives > 0, (len(labels) - positives) / np.maximum(positives, 1), 1.0)
            return torch.tensor(weights, dtype=torch.float32)
        # soft targets: each class's share summed over the texts (for one-hot rows, the bincount)
        counts = labels.sum(axis=0) if labels.ndim == 2 else np.bincount(labels, minlength=self.num_labels).astype(float)
        weights = np.where(counts > 0, counts.sum() / (self.num_labels * np.maximum(counts, 1)), 0.0)
        return torch.tensor(weights, dtype=torch.float32)

    # ------------------------------------------------------------------ inference
    def predict_logits(self, features: list[dict], return_indices: bool = False):
        """Logits for every example, in input order. Under several processes each takes every n-th
        batch and the results are gathered and put back in order by example index, so every example is
        counted exactly once."""
        acc = self.accelerator
        module = self.module.to(acc.device)  # fit leaves weights on the CPU; inference runs where acc runs
        was_training = module.training
        module.eval()
        batches = length_order([length_of(f) for f in features], self.params.eval_batch_size)
        batches = batches[acc.process_index :: acc.num_processes]
        # in fp32, as the trained model scores: the epoch kept is chosen on the scores it will give
        local = batch_logits(module, features, self.raw_collate, batches, acc.device)
        if not len(local[1]):
            local = (local[0], np.zeros((0, self.num_labels), np.float32))
        parts = gather_object([local]) if acc.num_processes > 1 else [local]
        all_indices = np.concatenate([part[0] for part in parts])
        all_logits = np.concatenate([part[1] for part in parts])
        if sorted(all_indices.tolist()) != list(range(len(features))):
            raise RuntimeError("evaluation lost or duplicated examples across processes")
        ordered = np.empty_like(all_logits)
        ordered[all_indices] = all_logits
        module.train(was_training)
        return (ordered, all_indices) if return_indices else ordered

"""Hyper-parameters of the training loop (no heavy imports: a model name can be validated without torch)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..params import param


@dataclass
class TrainParams:
    """Hyper-parameters of the loop; every torch family's Params extends this."""

    epochs: int = param(10, ge=1)
    min_steps: int = param(0, ge=0, doc="train at least this many optimizer steps: small data is gone over several times "
                                        "an epoch (a data budget of 96 texts at batch 32 is 3 steps a pass)")
    batch_size: int = param(32, ge=1)
    eval_batch_size: int = param(128, ge=1)
    learning_rate: float = param(1e-3, gt=0)
    weight_decay: float = param(0.0, ge=0)
    optimizer: Literal["adamw", "adam"] = "adamw"
    scheduler: Literal["linear", "constant"] = "linear"  # linear decay to 0, or constant (after warm-up)
    warmup_ratio: float = param(0.0, ge=0, lt=1)
    max_grad_norm: float = param(1.0, ge=0, doc="0 disables clipping")
    patience: int = param(0, ge=0, doc="epochs without improvement before stopping; 0 = never stop early")
    metric: Literal["macro_f1", "accuracy"] = "macro_f1"  # the validation metric that picks the best epoch
    class_weight: Literal["balanced"] | None = None  # "balanced" weights the loss by inverse class frequency
    bucket_batches: int = param(50, ge=1, doc="length-sorting window, in batches (1 = random batches)")
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"  # used only on a GPU
    cpu_bf16: bool = param(False, doc="bf16 autocast on the CPU too (CPUs with avx512_bf16 or AMX); measured against "
                                      "fp32 in benchmarks/vs_hf_trainer.py, it is not the default")
    cpu: bool = False  # force the CPU even if an accelerator is present
    fused_optimizer: bool = True  # torch's fused Adam/AdamW kernels where available (else foreach)
    flush_denormal: bool = True  # CPU: flush denormal floats to zero while training (faster; see training/loop.py)
    compile: bool = False  # torch.compile the module (GPU; on 2 CPU cores it cost 2 minutes and gained nothing)
    pad_multiple: int | None = param(None, ge=1, le=1024, doc="pad batches to a multiple of this; none: 8 on a GPU, 1 "
                                                              "on the CPU")
    loader_workers: int = param(2, ge=0, doc="data loader worker processes on a GPU (the CPU collates in-process)")

"""What the torch families (LSTM, transformers) share: where inference runs, padding, setting up the one
training loop, batched inference, loading weights against the module's own shapes, the ONNX graph's example."""
from __future__ import annotations

from pathlib import Path

from ..data import Split
from ..errors import RecordError
from .base import Classifier


class TorchClassifier(Classifier):
    """A family whose model is a torch module: ``_features`` turns texts into integer arrays, ``_collate`` pads
    a list of them into a batch, ``self.module(**batch)`` returns logits."""

    CPU_MAX_TOKENS: int | None = None  # bound on padded tokens per inference batch on a CPU (transformers)

    def __init__(self, params=None, label_names: list[str] | None = None):
        super().__init__(params, label_names)
        self.device = None  # where inference runs; None: a GPU if there is one, else the CPU
        self.pad_multiple = 1  # batches are padded to a multiple of this (8 on a GPU: reusable kernels)

    def explanation_gap(self) -> str | None:
        import importlib.util

        return None if importlib.util.find_spec("captum") else \
            "explanations of torch models need captum (pip install 'emobench[explain]')"

    def _features(self, texts: list[str]) -> list[dict]:
        raise NotImplementedError

    def _collate(self, items: list[dict]) -> dict:
        raise NotImplementedError

    def resolve_pad_multiple(self) -> int:
        """8 on a GPU (kernels and compiled graphs reused across batches), 1 on the CPU (no wasted work)."""
        import torch

        chosen = getattr(self.params, "pad_multiple", None)
        self.pad_multiple = chosen or (8 if torch.cuda.is_available() and not getattr(self.params, "cpu", False) else 1)
        return self.pad_multiple

    def fit(self, *args, **kwargs):
        self.trainer = None
        super().fit(*args, **kwargs)
        # After the family's _fit has set its info: the loop's warnings (validation still rising at the last epoch)
        # are recorded with the model for every torch family alike.
        said = getattr(self.trainer, "warnings", None) or []
        if said:
            self.info["warnings"] = [*self.info.get("warnings", []), *said]
        return self

    def _start_fit(self, seed: int) -> None:
        import torch

        torch.manual_seed(seed)
        self.resolve_pad_multiple()

    def _train(self, module, train: Split, validation: Split | None, *, seed, work_dir, resume, progress, on_epoch,
               soft_targets=None):
        """Train ``module`` on the shared loop; returns the trainer (its module holds the best epoch's weights). With
        ``soft_targets`` (models/base.py SoftTargets) it learns from float targets over the training texts and then
        the unlabeled ones; validation keeps the true labels."""
        from ..training import Trainer

        options = {}
        if self.multi_label:
            from ..evaluation.thresholds import validation_scores

            options = {"multi_label": True, "scores": validation_scores}
        trainer = Trainer(module, self._collate, self.params, len(self.label_names), seed, progress, **options)
        val = (self._features(validation.texts), self.targets(validation)) if validation is not None and len(validation) \
            else (None, None)
        texts, targets = list(train.texts), self.targets(train)
        if soft_targets is not None:
            texts += soft_targets.texts
            targets = soft_targets.targets(targets, len(self.label_names), self.multi_label)
        self.history = trainer.fit(self._features(texts), targets, *val, work_dir=work_dir, resume=resume,
                                   on_epoch=on_epoch)
        self.trainer = trainer  # kept: under several processes, evaluation runs through it
        return trainer

    def logits(self, texts):
        from ..batching import predict_logits

        return predict_logits(self.module, self._features(list(texts)), self._collate, self.params.eval_batch_size,
                              self.device, cpu_max_tokens=self.CPU_MAX_TOKENS)

    def _example_batch(self) -> dict:
        return self._collate(self._features(["an example text to trace the graph", "short"]))

    @staticmethod
    def _load_state(module, state: dict, path: Path) -> None:
        """Weights into ``module`` after checking every tensor's name and shape (a clear error, not torch's)."""
        expected = module.state_dict()
        missing = sorted(set(expected) - set(state))
        unknown = sorted(set(state) - set(expected))
        if missing or unknown:
            raise RecordError(f"{path}: tensors {', '.join(missing[:3] or unknown[:3])} "
                              f"{'missing' if missing else 'not of this model'}; the weights are not this model's")
        import torch

        for name, tensor in expected.items():
            if tuple(state[name].shape) != tuple(tensor.shape):
                raise RecordError(f"{path}: tensor {name} has shape {tuple(state[name].shape)}, the model's "
                                  f"parameters {tuple(tensor.shape)}; the weights and the description disagree")
            if state[name].is_floating_point() and not bool(torch.isfinite(state[name]).all()):
                raise RecordError(f"{path}: tensor {name} holds NaN or infinity; the weights are damaged")
        module.load_state_dict(state)
        module.eval()

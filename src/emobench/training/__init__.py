"""The one torch training loop (Accelerate), shared by the LSTM and transformer families.

``TrainParams`` imports nothing heavy; ``Trainer`` (torch, Accelerate) is imported on first use."""
from .params import TrainParams

__all__ = ["TrainParams", "Trainer", "LengthBucketBatches"]


def __getattr__(name: str):
    if name in ("Trainer", "LengthBucketBatches"):
        from . import loop

        return getattr(loop, name)
    raise AttributeError(name)

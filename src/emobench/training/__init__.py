"""The one torch training loop (Accelerate), shared by the LSTM and transformer families."""
from .loop import LengthBucketBatches, Trainer, TrainParams

__all__ = ["Trainer", "TrainParams", "LengthBucketBatches"]

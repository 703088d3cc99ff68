"""emobench: text emotion recognition — datasets with audits, one classifier protocol, honest comparisons."""
__version__ = "0.1.0"

from .data import Corpus, DatasetConfig, Split, audit, load_dataset  # noqa: E402
from .errors import DataError, EmobenchError  # noqa: E402
from .models import available_models, build_model, load_model  # noqa: E402
from .runs import RunConfig, evaluate_run, load_run, train  # noqa: E402
from .serving import Predictor, predict  # noqa: E402

__all__ = [
    "Corpus", "DatasetConfig", "Split", "audit", "load_dataset", "DataError", "EmobenchError",
    "available_models", "build_model", "load_model", "RunConfig", "train", "evaluate_run", "load_run",
    "Predictor", "predict",
]

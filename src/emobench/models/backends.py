"""Any model folder as something that scores texts: an ONNX export on ONNX Runtime, a run or a saved model on its own
family's code (PyTorch or scikit-learn)."""
from __future__ import annotations

from pathlib import Path

from ..errors import EmobenchError, RecordError, option

BACKENDS = ("auto", "torch", "onnx")


def load_backend(path: str | Path, backend: str = "auto", allow_modified: bool = False):
    """The model behind ``path``: an ONNX export (``emobench export``) runs on ONNX Runtime, anything else
    on its own family's code (PyTorch or scikit-learn)."""
    from .base import load_model
    from ..records.export import is_export

    if backend not in BACKENDS:
        raise EmobenchError(f"{option('backend')} {backend!r}: expected one of {', '.join(BACKENDS)}")
    path = Path(path)
    if str(path).endswith(".partial"):
        raise RecordError(f"{path}: an unfinished run or export; it cannot be used")
    exported = path.is_dir() and is_export(path)
    if backend == "onnx" and not exported:
        raise EmobenchError(f"{path}: not an ONNX export (no export.json); use {option('backend')} auto, or export a "
                            f"transformer, LSTM or SetFit run with `emobench export {path}`")
    if backend == "torch" and exported:
        raise EmobenchError(f"{path}: an ONNX export has no PyTorch weights; use {option('backend')} onnx, or the run "
                            "directory")
    if exported:
        from .onnx import OnnxModel

        return OnnxModel(path, allow_modified=allow_modified)
    return load_model(path, allow_modified)

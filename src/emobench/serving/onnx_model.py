"""An exported model run by ONNX Runtime: the same probabilities and decisions as the PyTorch model, with
no torch and no transformers at inference (texts are tokenised with the `tokenizers` library or the LSTM's
vocabulary, padded with numpy)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import EmobenchError
from ..fileio import read_json
from ..models.base import MODEL_FILE, decide, probabilities
from ..training.padding import CPU_MAX_TOKENS, length_order, pad_arrays

EXPORT_FILE = "export.json"


def is_export(path: str | Path) -> bool:
    return (Path(path) / EXPORT_FILE).is_file()


def cpu_threads() -> int:
    """The cores this process may use (affinity and cgroup quota), for ONNX Runtime's thread pool."""
    from ..environment import cpu_budget

    return cpu_budget()


class OnnxModel:
    """``predict_proba`` / ``decide`` like a :class:`~emobench.models.base.Classifier`, from an export folder."""

    backend = "onnx"

    def __init__(self, folder: str | Path, file: str | None = None, batch_size: int = 64, max_tokens: int | None = None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise EmobenchError("the ONNX backend needs onnxruntime (pip install 'emobench[serve]')") from None
        self.folder = Path(folder)
        meta = read_json(self.folder / MODEL_FILE, "model description", required=("label_names", "onnx"))
        self.meta = meta
        self.family = meta.get("family")
        self.label_names = meta["label_names"]
        self.multi_label = meta.get("task") == "multi_label"
        self.decision = meta.get("decision") or {}
        self.temperature = float(meta.get("temperature", 1.0))
        self.info = meta.get("info", {})
        spec = meta["onnx"]
        self.inputs, self.prep = spec["inputs"], spec["preprocess"]
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        path = self.folder / (file or spec["file"])
        if not path.is_file():
            raise EmobenchError(f"{path}: the ONNX model file is missing")
        options = ort.SessionOptions()
        options.intra_op_num_threads = cpu_threads()
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own error types for a corrupt graph
            raise EmobenchError(f"{path}: ONNX Runtime cannot load it ({str(exc).splitlines()[0]})") from None
        # A graph keeps only the inputs it uses (the seed's LSTM ignores lengths).
        self.inputs = [name for name in self.inputs if name in {i.name for i in self.session.get_inputs()}]
        if self.prep["kind"] == "tokenizer":
            from tokenizers import Tokenizer

            self.tokenizer = Tokenizer.from_file(str(self.folder / self.prep["tokenizer"]))
            self.tokenizer.no_padding()
            self.tokenizer.enable_truncation(self.prep["max_length"])
        else:
            from ..models.vocabulary import Vocabulary

            saved = read_json(self.folder / self.prep["vocabulary"], "LSTM vocabulary", required=("words",))
            self.vocabulary = Vocabulary(saved["words"])

    def _features(self, texts: list[str]) -> list[dict]:
        if self.prep["kind"] == "tokenizer":
            encodings = self.tokenizer.encode_batch(list(texts))
            return [{"input_ids": np.asarray(e.ids, dtype=np.int64), "token_type_ids": np.asarray(e.type_ids, dtype=np.int64)}
                    for e in encodings]
        return [{"input_ids": np.asarray(self.vocabulary.encode(t), dtype=np.int64)} for t in texts]

    def logits(self, texts: list[str]) -> np.ndarray:
        features = self._features(texts)
        out = np.zeros((len(texts), len(self.label_names)), dtype=np.float64)
        max_tokens = self.max_tokens if self.max_tokens is not None else \
            (CPU_MAX_TOKENS if self.prep["kind"] == "tokenizer" else None)  # an LSTM gains from wide batches
        for indices in length_order([len(f["input_ids"]) for f in features], self.batch_size, max_tokens):
            batch = pad_arrays([features[i] for i in indices], self.prep["pad_values"], left=self.prep["left"],
                               length=self.prep.get("length"), keep_end=self.prep.get("keep_end", False))
            out[indices] = self.session.run(None, {name: batch[name] for name in self.inputs})[0]
        return out

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return probabilities(logits, self.multi_label)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return self.probabilities(self.logits(texts) / self.temperature)

    def decide(self, probs: np.ndarray) -> np.ndarray:
        return decide(probs, self.multi_label, self.decision)

    def predict(self, texts: list[str]) -> np.ndarray:
        return self.decide(self.predict_proba(texts))


"""An exported model run by ONNX Runtime: the same probabilities and decisions as the PyTorch model (the
classifier's own :class:`~emobench.models.base.Scorer` code), with no torch and no transformers at inference
(texts are tokenised with the `tokenizers` library or the LSTM's vocabulary, padded with numpy).

Loading checks the folder against its manifest, then the graph against the description: its output width
against the labels, its inputs against the preprocessing, and the label names and the digest of the tokenizer
or vocabulary it was exported with (kept in the graph's metadata) against the files beside it, so a graph
copied in from another export is refused.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..batching import CPU_MAX_TOKENS, length_order, pad_arrays
from ..errors import EmobenchError, RecordError
from ..manifest import sha256_of
from .base import Scorer
from ..records.export import open_export
from ..records.model import MODEL_FILE, LstmVocabulary, check_tokenizer_json

LABELS_KEY, INPUTS_KEY, EXPORT_KEY = "emobench.labels", "emobench.inputs_sha256", "emobench.export_id"


def cpu_threads() -> int:
    """ONNX Runtime's thread pool: the threads torch would use (cores free for this process)."""
    from ..environment import thread_count

    return thread_count()


class OnnxModel(Scorer):
    """``predict_proba`` / ``decide`` like a :class:`~emobench.models.base.Classifier`, from an export folder."""

    backend = "onnx"

    def __init__(self, folder: str | Path, file: str | None = None, batch_size: int = 64, max_tokens: int | None = None,
                 allow_modified: bool = False, checking: bool = False):
        try:
            import onnxruntime as ort
        except ImportError:
            raise EmobenchError("the ONNX backend needs onnxruntime (pip install 'emobench[serve]')") from None
        self.files, record, self.export = open_export(folder, allow_modified, checking)
        self.folder = self.files.root
        self.record = record
        self.family = record.family
        self._apply(record)
        spec = record.onnx
        self.prep = spec.preprocess
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        name = self.file = file or spec.file
        if name not in spec.files.values():
            raise RecordError(f"{self.folder / MODEL_FILE}: field onnx.files: no exported file {name!r}")
        path = self.files.path(name, "ONNX model")
        options = ort.SessionOptions()
        options.intra_op_num_threads = cpu_threads()
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own error types for a corrupt graph
            raise RecordError(f"{path}: ONNX Runtime cannot load it ({str(exc).splitlines()[0]})") from None
        self._check_graph(path, spec)
        if self.prep.kind == "tokenizer":
            self.tokenizer = _tokenizer(self.files, self.prep.tokenizer, self.prep.max_length)
        else:
            from ..models.vocabulary import Vocabulary

            self.vocabulary = Vocabulary(LstmVocabulary.read(self.files, self.prep.vocabulary).words)

    @property
    def precision(self) -> str:
        return next(kind for kind, name in self.record.onnx.files.items() if name == self.file)

    def _check_graph(self, path: Path, spec) -> None:
        where = self.folder / MODEL_FILE
        graph_inputs = [i.name for i in self.session.get_inputs()]
        unknown = [name for name in graph_inputs if name not in spec.inputs]
        if unknown:
            raise RecordError(f"{where}: field onnx.inputs: the graph {path.name} needs {', '.join(unknown)}, which the "
                              "description does not provide")
        self.inputs = [name for name in spec.inputs if name in graph_inputs]  # a graph keeps only the inputs it uses
        width = self.session.get_outputs()[0].shape[-1]
        if isinstance(width, int):
            self.record.check_outputs(width, path)
        meta = self.session.get_modelmeta().custom_metadata_map
        if spec.export_id is not None and meta.get(EXPORT_KEY) != spec.export_id:
            raise RecordError(f"{path}: not a graph of this export (its metadata names export {meta.get(EXPORT_KEY)!r}, "
                              f"emobench_model.json {spec.export_id!r}); the files come from different exports")
        if LABELS_KEY in meta and json.loads(meta[LABELS_KEY]) != self.label_names:
            raise RecordError(f"{where}: field label_names: {self.label_names} differ from the labels {path.name} was "
                              f"exported with ({meta[LABELS_KEY]})")
        source = self.prep.tokenizer if self.prep.kind == "tokenizer" else self.prep.vocabulary
        if INPUTS_KEY in meta:
            digest = sha256_of(self.files.path(source, "tokenizer" if self.prep.kind == "tokenizer" else "vocabulary"))
            if digest != meta[INPUTS_KEY]:
                raise RecordError(f"{self.folder / source}: not the {'tokenizer' if self.prep.kind == 'tokenizer' else 'vocabulary'} "
                                  f"{path.name} was exported with (its sha256 differs from the graph's record); the files "
                                  "come from different exports")

    def _features(self, texts: list[str]) -> list[dict]:
        if self.prep.kind == "tokenizer":
            encodings = self.tokenizer.encode_batch(list(texts))
            return [{"input_ids": np.asarray(e.ids, dtype=np.int64), "token_type_ids": np.asarray(e.type_ids, dtype=np.int64)}
                    for e in encodings]
        return [{"input_ids": np.asarray(self.vocabulary.encode(t), dtype=np.int64)} for t in texts]

    def feeds(self, texts: list[str]):
        """(text indices, the graph's inputs) for every batch of ``texts``: sorted by length, padded with numpy."""
        features = self._features(texts)
        max_tokens = self.max_tokens if self.max_tokens is not None else \
            (CPU_MAX_TOKENS if self.prep.kind == "tokenizer" else None)  # an LSTM gains from wide batches
        pad_values = {k: v for k, v in self.prep.pad_values.items() if k in self.inputs}
        length = getattr(self.prep, "length", None)
        for indices in length_order([len(f["input_ids"]) for f in features], self.batch_size, max_tokens):
            batch = pad_arrays([features[i] for i in indices], pad_values, left=self.prep.left, length=length,
                               keep_end=getattr(self.prep, "keep_end", False))
            yield indices, {name: batch[name] for name in self.inputs}

    def logits(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(self.label_names)), dtype=np.float64)
        for indices, feed in self.feeds(texts):
            out[indices] = self.session.run(None, feed)[0]
        return out


def _tokenizer(files, name: str, max_length: int):
    """The export's tokenizer, its JSON checked before the tokenizers library parses it."""
    from tokenizers import Tokenizer

    data = check_tokenizer_json(files, name)
    path = files.root / name
    try:
        tokenizer = Tokenizer.from_str(json.dumps(data))
    except Exception as exc:  # tokenizers raises its own exception type
        raise RecordError(f"{path}: the tokenizers library cannot read it ({str(exc).splitlines()[0]})") from None
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return tokenizer

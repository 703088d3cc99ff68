"""LSTM classifiers on GloVe embeddings: the seed study's design (``lstm-paper``) and a careful one (``lstm``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..batching import pad_features
from ..data import Split
from ..errors import RecordError
from ..files import read_tensors
from ..manifest import Folder
from ..params import param
from ..records.base import validate
from ..records.model import MODEL_FILE, LstmVocabulary, ModelRecord, VocabularyInputs
from ..training import TrainParams
from ..training.checkpoint import save_weights
from .base import OnnxGraph, check_weights_labels, safetensors_metadata
from .glove import PACKAGED, glove_matrix
from .torch_family import TorchClassifier
from .vocabulary import Vocabulary, tokenize

WEIGHTS, VOCABULARY = "lstm.safetensors", "vocab.json"

@dataclass
class LstmParams(TrainParams):
    architecture: Literal["pooled", "paper"] = "pooled"  # packed + max/mean pooling, or fixed length + flattened
    glove: str = PACKAGED  # or a path to a GloVe text file; "none" for random embeddings
    freeze_embeddings: bool = False
    min_freq: int = param(1, ge=1)
    max_vocab: int | None = param(None, ge=1)
    # benchmarks/lstm.py --ablation, dair-ai validation macro-F1: hidden 64 0.914 (80 s) vs 128 0.914 (118 s);
    # no class weighting 0.913; random embeddings 0.914; frozen GloVe 0.773.
    hidden_size: int = param(64, ge=1, le=65_536)
    num_layers: int = param(1, ge=1, le=64)
    dropout: float = param(0.3, ge=0, lt=1)
    max_length: int | None = param(None, ge=1, le=100_000, doc="paper: fixed padding length (derived from training data "
                                                               "when none)")
    # A maximum, not a schedule: early stopping (patience) ends the run. 8 epochs stopped a small dataset with validation
    # macro-F1 still rising (0.603); 30 let it stop itself at epoch 15 (0.931). The loop warns when 30 are not enough.
    epochs: int = param(30, ge=1, doc="most epochs; training stops earlier after `patience` epochs without improvement")
    batch_size: int = param(64, ge=1)
    learning_rate: float = param(2e-3, gt=0)
    patience: int = param(3, ge=0)
    class_weight: Literal["balanced"] | None = "balanced"


class PooledLSTM(nn.Module):
    """Bidirectional LSTM over packed sequences, max and mean pooling over time, dropout, linear."""

    def __init__(self, embeddings: np.ndarray, hidden: int, layers: int, dropout: float, num_labels: int, freeze: bool):
        super().__init__()
        self.embedding = nn.Embedding.from_pretrained(torch.from_numpy(embeddings), freeze=freeze, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embeddings.shape[1], hidden, num_layers=layers, batch_first=True, bidirectional=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.classifier = nn.Linear(4 * hidden, num_labels)

    def forward(self, input_ids, lengths):
        x = self.dropout(self.embedding(input_ids))
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=input_ids.shape[1])
        mask = (torch.arange(input_ids.shape[1], device=input_ids.device)[None, :] < lengths[:, None]).unsqueeze(-1)
        max_pool = out.masked_fill(~mask, float("-inf")).max(dim=1).values
        mean_pool = (out * mask).sum(dim=1) / lengths[:, None].clamp(min=1)
        return self.classifier(self.dropout(torch.cat([max_pool, mean_pool], dim=1)))


class PaperLSTM(nn.Module):
    """The seed's design: fixed-length input, stacked bidirectional LSTM, every time step's output
    flattened into one linear layer (input 2 x hidden x length)."""

    def __init__(self, embeddings: np.ndarray, hidden: int, layers: int, dropout: float, num_labels: int, freeze: bool,
                 length: int):
        super().__init__()
        self.embedding = nn.Embedding.from_pretrained(torch.from_numpy(embeddings), freeze=freeze, padding_idx=0)
        self.lstm = nn.LSTM(embeddings.shape[1], hidden, num_layers=layers, batch_first=True, bidirectional=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(2 * hidden * length, num_labels)

    def forward(self, input_ids, lengths):
        out, _ = self.lstm(self.embedding(input_ids))
        return self.classifier(self.dropout(out.flatten(1)))


class LstmClassifier(TorchClassifier):
    family = "lstm"
    Params = LstmParams
    # `emobench tune` searches here unless told otherwise (--space); kinds: float, int, *-log, choice.
    SEARCH_SPACE = {"learning_rate": ["float-log", 5e-4, 5e-3], "hidden_size": ["choice", [32, 64, 128]],
                    "dropout": ["float", 0.1, 0.5], "batch_size": ["choice", [32, 64, 128]],
                    "class_weight": ["choice", ["balanced", None]]}
    # The LSTM's recurrent weights sit in ONNX's LSTM operator, which static quantisation leaves in fp32: int8 matrix
    # products alone left the file as large (1.00x) and no faster (0.94x, benchmarks/inference.py). Its size is the
    # embedding table, read by a Gather: quantised too, int8 pays in size at least.
    INT8_OPERATORS = ("MatMul", "Gemm", "Gather")
    PRESETS = {"paper": {"architecture": "paper", "num_layers": 2, "hidden_size": 64, "dropout": 0.2,
                         "class_weight": None, "learning_rate": 1e-3, "epochs": 10, "patience": 2,
                         "batch_size": 32, "scheduler": "constant", "optimizer": "adam"}}

    def _module(self, embeddings: np.ndarray) -> nn.Module:
        p = self.params
        if p.architecture == "paper":
            return PaperLSTM(embeddings, p.hidden_size, p.num_layers, p.dropout, len(self.label_names),
                             p.freeze_embeddings, self.length)
        return PooledLSTM(embeddings, p.hidden_size, p.num_layers, p.dropout, len(self.label_names), p.freeze_embeddings)

    def _features(self, texts: list[str]) -> list[dict]:
        return [{"input_ids": np.asarray(self.vocab.encode(text), dtype=np.int64)} for text in texts]

    def _collate(self, items: list[dict]) -> dict:
        if self.params.architecture == "paper":
            # Keras pad_sequences defaults: pad and truncate at the front.
            batch = pad_features(items, {"input_ids": 0}, left=True, length=self.length, keep_end=True)
        else:
            batch = pad_features(items, {"input_ids": 0}, multiple=self.pad_multiple)
        return {"input_ids": batch["input_ids"], "lengths": batch["lengths"]}

    def _fit(self, train: Split, validation: Split | None, *, seed=0, work_dir=None, resume=False, progress=True,
             on_epoch=None, soft_targets=None):
        p = self.params
        self._start_fit(seed)
        texts = [*train.texts, *(soft_targets.texts if soft_targets is not None else [])]  # a teacher's texts too
        self.vocab = Vocabulary.build(texts, p.min_freq, p.max_vocab)
        self.length = p.max_length or max(len(tokenize(t)) for t in texts)
        if p.glove in (None, "none"):
            rng = np.random.default_rng(seed)
            embeddings = rng.normal(0, 0.3, (len(self.vocab), 50)).astype(np.float32)
            embeddings[0] = 0
            coverage = {"source": "none"}
        else:
            embeddings, coverage = glove_matrix(self.vocab.words, p.glove, seed)
        trainer = self._train(self._module(embeddings), train, validation, seed=seed, work_dir=work_dir, resume=resume,
                              progress=progress, on_epoch=on_epoch, soft_targets=soft_targets)
        self.module = trainer.module
        self.info = {"parameters": sum(t.numel() for t in self.module.parameters()), "glove": coverage,
                     "length": self.length, "vocabulary": len(self.vocab), "best_epoch": trainer.best_epoch}

    @classmethod
    def describe(cls, info: dict) -> list[str]:
        glove = info.get("glove") or {}
        if glove.get("coverage") is None:
            return []
        return [f"GloVe ({glove['source']}) covers {glove['found']} of {glove['vocabulary']} vocabulary words "
                f"({100 * glove['coverage']:.1f}%)"]

    def attributions(self, text: str, label: int) -> tuple[list[str], list[float], str]:
        from .attribution import integrated_gradients

        tokens = tokenize(text) or ["<unk>"]
        batch = self._collate(self._features([text]))
        module = self.module.eval()
        scores = integrated_gradients(lambda ids, lengths: module(ids, lengths), module.embedding,
                                      (batch["input_ids"], batch["lengths"]), torch.zeros_like(batch["input_ids"]), label)
        if self.params.architecture == "paper":  # left-padded to a fixed length, keeping the end
            kept = int(batch["lengths"][0])
            tokens, scores = tokens[-kept:], scores[len(scores) - kept:]
        return tokens, scores[: len(tokens)].tolist(), "integrated gradients (embeddings)"

    def onnx_graph(self, directory: Path) -> OnnxGraph:
        from .base import PositionalInputs

        paper = self.params.architecture == "paper"
        self._write_vocabulary(directory)
        example = self._example_batch()
        axes = {"input_ids": {0: "batch"} if paper else {0: "batch", 1: "sequence"}, "lengths": {0: "batch"}}
        preprocess = validate(VocabularyInputs, {
            "kind": "vocabulary", "vocabulary": VOCABULARY, "pad_values": {"input_ids": 0}, "left": paper,
            "keep_end": paper, "length": self.length if paper else None}, "the export's description")
        return OnnxGraph(PositionalInputs(self.module, ["input_ids", "lengths"]), ["input_ids", "lengths"], example, axes,
                         preprocess)

    def _write_vocabulary(self, directory: Path) -> None:
        vocabulary = validate(LstmVocabulary, {"words": self.vocab.words, "length": self.length},
                              "the vocabulary being saved")
        vocabulary.write(directory, VOCABULARY)

    def _save_weights(self, directory: Path):
        save_weights(self.module.state_dict(), directory / WEIGHTS, self.weights_metadata())
        self._write_vocabulary(directory)

    def _load_weights(self, folder: Folder, record: ModelRecord):
        saved = LstmVocabulary.read(folder, VOCABULARY)
        self.vocab, self.length = Vocabulary(saved.words), saved.length
        legacy = folder.path("lstm.pt", "weights", required=False)
        if legacy is not None and not (folder.root / WEIGHTS).exists():
            # emobench 0.1: torch's weights-only loader reads tensors and never runs code
            path, state, metadata = legacy, torch.load(legacy, map_location="cpu", weights_only=True), None
        else:
            path = folder.path(WEIGHTS, "weights")
            state, metadata = read_tensors(path, "torch"), safetensors_metadata(path)
        for name in ("embedding.weight", "classifier.weight"):
            if name not in state:
                raise RecordError(f"{path}: no tensor {name}; the weights are not an emobench LSTM's")
        check_weights_labels(record, int(state["classifier.weight"].shape[0]), path, metadata)
        rows = int(state["embedding.weight"].shape[0])
        if rows != len(self.vocab):
            raise RecordError(f"{folder.root / VOCABULARY}: field words: {len(self.vocab)} words, but the weights embed "
                              f"{rows}; the vocabulary is not the one the model was trained with")
        # The description's sizes against the weights' before the network is built: a description cannot make the
        # load allocate more than the weights hold (num_layers 1000001 built for minutes).
        layers = sum(1 for name in state if name.startswith("lstm.weight_ih_l") and not name.endswith("_reverse"))
        where = folder.root / MODEL_FILE
        if layers and layers != self.params.num_layers:
            raise RecordError(f"{where}: field params.num_layers: {self.params.num_layers}, but the weights ({path.name}) "
                              f"hold {layers} LSTM layer(s)")
        recurrent = state.get("lstm.weight_hh_l0")
        if recurrent is not None and int(recurrent.shape[-1]) != self.params.hidden_size:
            raise RecordError(f"{where}: field params.hidden_size: {self.params.hidden_size}, but the weights ({path.name}) "
                              f"have {int(recurrent.shape[-1])} hidden units")
        self.module = self._module(np.zeros(tuple(state["embedding.weight"].shape), dtype=np.float32))
        self._load_state(self.module, state, path)
        self.resolve_pad_multiple()


"""Static embeddings (model2vec): every token of a sentence transformer's vocabulary embedded once, distilled offline
from all-MiniLM-L6-v2 (or any local body, ``--set body=DIR``), then model2vec's own ``StaticModelForClassification``
trained on them (a mean of token vectors and a small head), with early stopping on our validation split. Scoring a
text is a tokenizer call, a bag of vectors and a matrix product: the fastest family.

The distillation runs once per body and is cached in ``$EMOBENCH_CACHE/static/<key>`` (default ~/.cache/emobench),
keyed by the sha256 of the body's files, the PCA size and model2vec's version; a run records the key and whether the
cache served it. Saved as data only: the tensors (safetensors) and tokenizer.json, loaded back into model2vec's
classifier after every tensor's name, shape and bounds are checked.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..data import Split
from ..errors import EmobenchError, EmobenchWarning, RecordError
from ..files import cache_dir, read_tensors
from ..manifest import Folder
from ..params import param
from ..records.model import MODEL_FILE, ModelRecord, check_tokenizer_json
from .base import Classifier, OnnxGraph, SoftTargets, check_weights_labels, safetensors_metadata
from .registry import MINILM_HUB_ID

WEIGHTS, TOKENIZER = "static.safetensors", "tokenizer.json"


@dataclass
class StaticParams:
    pretrained: str = MINILM_HUB_ID  # the body distilled into static vectors (--set body=DIR)
    pca_dims: int = param(256, ge=2, doc="dimensions kept by PCA when distilling")
    n_layers: int = param(1, ge=0, le=4, doc="hidden layers of the head (model2vec's classifier default: 1)")
    hidden_dim: int = param(512, ge=1)
    learning_rate: float = param(1e-3, gt=0)
    batch_size: int = param(0, ge=0, doc="0: model2vec chooses from the data size")
    max_epochs: int = param(0, ge=0, doc="0: until early stopping")
    patience: int = param(5, ge=1, doc="epochs without improvement on validation before stopping")
    # Balanced like tfidf and the LSTM: unweighted, the head never predicted MELD's rare disgust and fear (F1 0.00).
    class_weight: Literal["balanced"] | None = "balanced"


def _soft_metrics(multi_label: bool):
    """Validation accuracy against float targets (the argmax, or each label past 0.5), for early stopping."""
    def metrics(head_out, y, loss) -> dict:
        if multi_label:
            hits = ((head_out > 0) == (y > 0.5)).float().mean()
        else:
            hits = (head_out.argmax(dim=1) == y.argmax(dim=1)).float().mean()
        return {"loss": loss.item(), "accuracy": hits.item()}
    return metrics


def cache_root() -> Path:
    return cache_dir("static")


def body_key(folder: Path, pca_dims: int) -> str:
    """What a distillation depends on: the body's files, the PCA size, model2vec's version."""
    import model2vec

    digest = hashlib.sha256(f"pca={pca_dims};model2vec={model2vec.__version__}".encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:32]


def distilled(source: str, pca_dims: int, progress: bool = False):
    """The static model distilled from ``source`` (cached); returns (model, key, whether the cache served it). A cache
    entry (records/cache.py) is verified whenever it is used; a damaged one is rebuilt, with a warning."""
    from model2vec.distill import distill_from_model
    from transformers import AutoModel, AutoTokenizer

    from ..records.cache import write_static_entry
    from .transformer import load_pretrained

    folder = Path(source)
    root = cache_root()
    for place in (root.parent, root):  # before the distillation, not after it
        if place.exists() and not place.is_dir():
            raise EmobenchError(f"{place}: a file where the static-embedding cache keeps its entries ($EMOBENCH_CACHE); "
                                "expected a folder")
    key = body_key(folder, pca_dims)
    target = root / key
    if target.exists() or target.is_symlink():
        try:
            return _from_cache(target), key, True
        except RecordError as exc:  # no "pass allow_modified": the entry is rebuilt, not used anyway
            reason = str(exc).split(" (pass allow_modified")[0]
            warnings.warn(f"the static-embedding cache entry {target} cannot be used ({reason}); it is rebuilt",
                          EmobenchWarning, stacklevel=3)
    import model2vec.distill.inference as distilling

    from ..logs import library_bars

    model = load_pretrained(AutoModel, source)
    tokenizer = load_pretrained(AutoTokenizer, source)
    with library_bars(progress, distilling):
        static = distill_from_model(model, tokenizer, pca_dims=min(pca_dims, model.config.hidden_size), device="cpu")
    if len(static.embedding) < 2 or len(static.tokens) < 2:
        raise EmobenchError(f"{source}: distilling the body gave {len(static.tokens)} token(s); its tokenizer is not a "
                            "usable vocabulary")
    arrays = {"vectors": np.ascontiguousarray(static.embedding, dtype=np.float32)}
    if static.weights is not None:
        arrays["weights"] = np.ascontiguousarray(static.weights, dtype=np.float32)
    if static.token_mapping is not None:
        arrays["token_mapping"] = np.ascontiguousarray(static.token_mapping, dtype=np.int64)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{key}.tmp-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        write_static_entry(scratch, arrays, static.tokenizer.save,
                           {"normalize": bool(static.normalize), "max_length": static.max_length})
        _put_in_place(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    try:
        return _from_cache(target), key, False
    except RecordError as exc:  # the distillation itself gave an unusable entry: not kept for the next run
        shutil.rmtree(target, ignore_errors=True)
        raise EmobenchError(f"{source}: distilling the body gave an unusable static model ({exc})") from None


def _put_in_place(scratch: Path, target: Path) -> None:
    from ..records.cache import put_in_place, read_static_entry

    put_in_place(scratch, target, read_static_entry)


def _from_cache(target: Path):
    """A model2vec StaticModel from a verified cache entry (arrays and tokenizer, never model2vec's hub loader)."""
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    from ..records.cache import read_static_entry

    arrays, tokenizer, settings = read_static_entry(target)
    try:
        loaded = Tokenizer.from_file(str(tokenizer))
    except Exception as exc:  # tokenizers' own error for a file it cannot build a tokenizer from
        raise RecordError(f"{tokenizer}: not a tokenizer tokenizers can load ({str(exc).splitlines()[0][:200]})") from None
    return StaticModel(vectors=arrays["vectors"], tokenizer=loaded, normalize=settings.normalize,
                       weights=arrays.get("weights"), token_mapping=arrays.get("token_mapping"),
                       max_length=settings.max_length)


class StaticClassifier(Classifier):
    family = "static"
    Params = StaticParams
    ALIASES = {"body": "pretrained"}
    SEARCH_SPACE = {"learning_rate": ["float-log", 1e-4, 1e-2], "n_layers": ["choice", [0, 1, 2]],
                    "hidden_dim": ["choice", [256, 512]]}

    def _fit(self, train: Split, validation: Split | None, *, seed=0, progress=True, soft_targets=None, **options):
        try:
            from model2vec.train import StaticModelForClassification
        except ImportError:
            raise EmobenchError("the static family needs model2vec with its training extra "
                                "(pip install 'emobench[static]')") from None
        from ..logs import quiet_libraries
        from .transformer import resolve_pretrained

        quiet_libraries()
        p = self.params
        source = resolve_pretrained(p.pretrained)
        from .pretrained import check_source

        check_source(source, "body")
        if not Path(source).is_dir():
            raise EmobenchError(f"static body {p.pretrained!r}: expected a local model folder (the hub is not reached); "
                                "pass --set body=DIR")
        started = time.perf_counter()
        static, key, cached = distilled(source, p.pca_dims, progress)
        distill_seconds = time.perf_counter() - started
        model = StaticModelForClassification.from_static_model(model=static, n_layers=p.n_layers, hidden_dim=p.hidden_dim,
                                                               out_dim=len(self.label_names))
        names = self.label_names

        def labels_of(split: Split):
            return [[names[i] for i in y] for y in split.labels] if self.multi_label else [names[y] for y in split.labels]

        val = self._validation_known(validation, labels_of(train), labels_of(validation)) \
            if validation is not None and len(validation) else {}
        import model2vec.train.trainer as training

        from ..logs import library_bars

        with library_bars(progress, training):
            if soft_targets is not None:
                self._fit_soft(model, train, validation, soft_targets, seed)
            else:
                model.fit(list(train.texts), labels_of(train), learning_rate=p.learning_rate,
                          batch_size=p.batch_size or None, max_epochs=p.max_epochs or -1,
                          early_stopping_patience=p.patience, device="cpu", random_seed=seed,
                          class_weight=self._class_weight(train), **val)
        self.model = model.to("cpu").eval()
        self._columns()
        self.info = {"parameters": int(sum(t.numel() for t in self.model.parameters())), "distillation": {
            "key": key, "cached": cached, "pca_dims": p.pca_dims, "vocabulary": int(self.model.embeddings.weight.shape[0]),
            "seconds": round(distill_seconds, 3)},
            "classes": list(self.model.classes_), "multilabel": bool(self.model.multilabel),
            "max_length": self.model.max_length, "normalize": bool(self.model.normalize),
            # one-time work before training (the distillation, or reading and verifying its cache entry): the run
            # records it apart from the training time, which would otherwise show the fastest family as the slowest
            "preparation_seconds": round(distill_seconds, 3)}

    def _fit_soft(self, model, train: Split, validation: Split | None, soft: SoftTargets, seed: int) -> None:
        """model2vec's own training loop on float targets (``emobench distill``): the teacher's probabilities mixed with
        the true labels (SoftTargets), a cross-entropy that takes probability rows (binary cross-entropy per label for
        multi-label data), our labels as its classes in our order, early stopping on validation accuracy against the
        true labels (without a validation split, a tenth of the texts held out against their soft targets)."""
        import torch
        from model2vec.train.dataset import ColumnRows
        from model2vec.train.trainer import run_training_loop
        from model2vec.train.utils import seed_everything

        from ..training.loop import soft_loss

        p, k = self.params, len(self.label_names)
        seed_everything(seed)
        model.multilabel, model.classes_, model.out_dim = self.multi_label, list(self.label_names), k
        model._initialize()
        model._to_targets = lambda rows: torch.as_tensor(np.asarray(rows), dtype=torch.float32)
        texts = [*train.texts, *soft.texts]
        targets = soft.targets(self.targets(train), k, self.multi_label)
        if validation is not None and len(validation):
            val_texts, val_targets = list(validation.texts), self.truth(validation).astype(np.float32)
            if not self.multi_label:
                val_targets = np.eye(k, dtype=np.float32)[validation.labels]
        else:
            held = np.random.default_rng(seed).permutation(len(texts))[: max(len(texts) // 10, 1)]
            kept = np.setdiff1d(np.arange(len(texts)), held)
            val_texts, val_targets = [texts[i] for i in held], targets[held]
            texts, targets = [texts[i] for i in kept], targets[kept]
        weight = self._class_weight(train)
        if weight == "balanced":  # model2vec's "balanced", from the training labels
            counts = np.bincount(np.asarray(train.labels), minlength=k).astype(np.float64)
            weight = {name: len(train) / (k * counts[j]) for j, name in enumerate(self.label_names) if counts[j]}
        tensor = torch.tensor([weight.get(name, 1.0) for name in self.label_names], dtype=torch.float32) if weight else None
        batch = model._determine_batch_size(p.batch_size or None, len(texts))
        interval, every = model._determine_val_check_interval(None, len(texts), batch)
        state = run_training_loop(
            model=model, loss_function=soft_loss(self.multi_label, tensor), learning_rate=p.learning_rate,
            val_metric="val_accuracy", early_stopping_direction="max",
            train_loader=model._text_dataset(ColumnRows(text=texts, label=list(targets))).to_dataloader(
                shuffle=True, batch_size=batch),
            val_loader=model._text_dataset(ColumnRows(text=val_texts, label=list(val_targets))).to_dataloader(
                shuffle=False, batch_size=batch),
            early_stopping_patience=p.patience, min_epochs=None, max_epochs=p.max_epochs or -1, device=torch.device("cpu"),
            val_check_interval=interval, check_val_every_epoch=every, compute_metrics=_soft_metrics(self.multi_label))
        model.load_state_dict(state)
        del model._to_targets  # the class's own again: nothing of the soft fit stays on the model

    def _class_weight(self, train: Split):
        """What model2vec's ``fit`` gets. Single-label "balanced" is model2vec's own, sklearn's inverse class frequency
        over the classes in training (the LSTM's loss weights). Multi-label: model2vec's "balanced" would weigh a label's
        positives by mean count / count, so it is given ours instead, negatives / positives per label (the LSTM's and
        transformers' pos_weight), as a dict over the labels present."""
        if self.params.class_weight is None or not self.multi_label:
            return self.params.class_weight
        truth = train.label_matrix(len(self.label_names))
        positives = truth.sum(axis=0)
        return {name: float((len(truth) - positives[k]) / positives[k])
                for k, name in enumerate(self.label_names) if positives[k] > 0}

    def _validation_known(self, validation: Split, train_labels: list, val_labels: list) -> dict:
        """model2vec refuses validation labels its training texts lack (a small or sampled training set, a rare label):
        early stopping is scored on the labels it learns (a label set keeps its known labels, a text with none is left
        out); the model still answers for every label, an unseen one at the lowest score (``_columns``)."""
        known = {name for y in train_labels for name in (y if self.multi_label else [y])}
        texts, labels = [], []
        for text, y in zip(validation.texts, val_labels):
            kept = [name for name in y if name in known] if self.multi_label else y
            if (kept if self.multi_label else kept in known):
                texts.append(text)
                labels.append(kept)
        return {"X_val": texts, "y_val": labels} if texts else {}

    def _columns(self) -> None:
        """Where each of our labels is among model2vec's classes (it sorts them; a label absent from training is not)."""
        classes = [str(c) for c in self.model.classes_]
        self.columns = [classes.index(name) if name in classes else -1 for name in self.label_names]

    def logits(self, texts: list[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, len(self.label_names)))
        # model2vec's public encode wraps this no-grad batch call in a progress-bar loop, about 40 us a call:
        # a tenth of a one-text call. Callers batch (logits_batched), so one call is one batch.
        one_batch = getattr(self.model, "_encode_single_batch", None)
        raw = one_batch(list(texts)).numpy() if one_batch else self.model.encode(list(texts), batch_size=len(texts))
        if min(self.columns) >= 0:
            return raw[:, self.columns].astype(np.float64)
        out = np.full((len(texts), len(self.label_names)), -1e9 if not self.multi_label else -30.0)
        for j, column in enumerate(self.columns):
            if column >= 0:
                out[:, j] = raw[:, column]
        return out

    def onnx_graph(self, directory: Path) -> OnnxGraph:
        raise EmobenchError("the static family is not exported to ONNX: it already scores tens of thousands of texts a "
                            "second with model2vec (a bag of token vectors and a small head)")

    def _save_weights(self, directory: Path) -> None:
        from safetensors.torch import save_file

        state = {k: v.detach().contiguous().clone() for k, v in self.model.state_dict().items()}
        save_file(state, str(directory / WEIGHTS), metadata=self.weights_metadata())
        self.model.tokenizer.save(str(directory / TOKENIZER))

    def _load_weights(self, folder: Folder, record: ModelRecord) -> None:
        import torch
        from model2vec.train import StaticModelForClassification
        from tokenizers import Tokenizer

        from .torch_family import TorchClassifier

        info = record.info
        path = folder.path(WEIGHTS, "weights")
        arrays = read_tensors(path)
        needed = ["embeddings.weight", "token_mapping"]
        missing = [k for k in needed if k not in arrays]
        if missing:
            raise RecordError(f"{path}: no tensor {missing[0]}; the weights are not an emobench static model's")
        vectors, mapping = arrays["embeddings.weight"], arrays["token_mapping"]
        if vectors.ndim != 2 or vectors.dtype.kind != "f" or mapping.ndim != 1 or mapping.dtype.kind not in "iu" \
                or not np.isfinite(vectors).all():
            raise RecordError(f"{path}: embeddings of shape {vectors.shape} and a token mapping of shape {mapping.shape} "
                              "are not a static model's (or hold non-finite values)")
        if len(mapping) and (mapping.min() < 0 or mapping.max() >= len(vectors)):
            raise RecordError(f"{path}: the token mapping points outside the {len(vectors)} vectors")
        rows = len(mapping) if len(mapping) else len(vectors)
        if "w" in arrays and (arrays["w"].ndim != 1 or len(arrays["w"]) != rows or arrays["w"].dtype.kind != "f"
                              or not np.isfinite(arrays["w"]).all()):
            raise RecordError(f"{path}: field w: expected one finite weight per token ({rows})")
        classes = info.get("classes")
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes) or \
                not set(classes) <= set(record.label_names) or len(set(classes)) != len(classes):
            raise RecordError(f"{folder.root / MODEL_FILE}: field info.classes: {classes!r}, expected the labels "
                              "the head was trained on")
        check_tokenizer_json(folder, TOKENIZER, rows=rows)
        tokenizer = Tokenizer.from_file(str(folder.path(TOKENIZER, "tokenizer")))
        weights = torch.from_numpy(arrays["w"]) if "w" in arrays else None
        model = StaticModelForClassification(
            vectors=torch.from_numpy(vectors), tokenizer=tokenizer, n_layers=self.params.n_layers,
            hidden_dim=self.params.hidden_dim, out_dim=len(classes), token_mapping=mapping.tolist(), weights=weights,
            normalize=bool(info.get("normalize", True)), max_length=info.get("max_length"))
        TorchClassifier._load_state(model, {k: torch.from_numpy(v) for k, v in arrays.items()}, path)
        model.classes_ = list(classes)
        model.multilabel = bool(info.get("multilabel"))
        if len(record.label_names) != len(self.label_names):
            raise RecordError(f"{path}: labels differ")
        check_weights_labels(record, len(record.label_names), path, safetensors_metadata(path))
        self.model = model.eval()
        self._columns()

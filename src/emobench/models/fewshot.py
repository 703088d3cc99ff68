"""Few-shot emotion models that use what the user has: the label names (or descriptions), a few labelled texts, and
texts without labels. A sentence-transformer body (all-MiniLM-L6-v2 offline, or any local body: ``--set body=DIR``)
embeds each label's description as its *anchor*; the scaled cosine between a text and the anchors is a classifier
before any text is labelled (zero-shot). With labelled texts, the body is fine-tuned on the shared loop so that a
text's embedding moves towards its label's anchor and away from the others, the anchors re-embedded by the same body
at every step (label-name anchors, as AncSetFit uses them, in a cross-entropy over cosines instead of SetFit's pairs:
each text is compared with every label at once, at a fraction of the pairs' cost). A logistic-regression head on
the fine-tuned embeddings then adds its logits to the anchors' (``anchor_weight``); both are linear in the
embedding, so the model is one linear head on the body's pooled output: saved, exported and explained as the
transformer family's features mode.

With unlabeled texts (``--unlabeled``), self-training: the model labels up to ``unlabeled_max`` of them, the
``pseudo_per_class`` most confident per label join the head's training data, and the self-trained head is kept only
if it is not worse on the validation split (both scores recorded).
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
import numpy as np
import torch
from torch import nn

from ..data import Split
from ..errors import EmobenchError, EmobenchWarning
from ..params import param
from .linear import LinearHead, fit_head
from .setfit import SentenceBodyParams
from .transformer import TransformerClassifier, load_pretrained, resolve_pretrained


@dataclass
class FewShotParams(SentenceBodyParams):
    anchors: bool = True  # class vectors from the label descriptions; False: from the labelled texts' mean embedding
    scale: float = param(20.0, gt=0, doc="inverse temperature of the cosines between texts and anchors")
    epochs: int = param(20, ge=0, doc="fine-tuning passes over the labelled texts (0: the body stays frozen)")
    max_steps: int = param(200, ge=1, doc="bounds fine-tuning in whole epochs: as many as fit in this many steps, at "
                                         "least one (fewer epochs on more texts; one epoch longer than this is warned)")
    batch_size: int = param(16, ge=1)
    learning_rate: float = param(1e-4, gt=0)  # dair-ai at 16 per class, 3 seeds: 0.484 macro-F1 against 0.471 at 5e-5
    warmup_ratio: float = param(0.1, ge=0, lt=1)
    weight_decay: float = param(0.0, ge=0)
    anchor_weight: float | None = param(None, ge=0, doc="weight of the anchors' scores added to the head's (0: the "
                                        "head alone; none: chosen on validation from 0, 0.25, 0.5, 1, 2)")
    features_C: float = param(1.0, gt=0, doc="the head's inverse regularisation")
    head_max_iter: int = param(1000, ge=1)
    unlabeled_max: int = param(2000, ge=1, doc="at most this many unlabeled texts are labelled (a seeded sample)")
    pseudo_per_class: int = param(100, ge=1, doc="self-training: the most confident unlabeled texts kept per label")
    pseudo_weight: float = param(1.0, gt=0, doc="self-training: a pseudo-labelled text's weight in the head's fit")
    self_training_check: bool = True  # keep the self-trained head only if validation macro-F1 is not lower (false: always)


ANCHOR_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)  # the anchors' weights tried on validation


def combine(logistic: tuple[np.ndarray, np.ndarray] | None, anchors: np.ndarray | None, scale: float,
            weight: float) -> LinearHead:
    """One linear head over the pooled embedding: the logistic regression's logits plus ``weight`` times the anchors'
    scaled cosines (both linear in a normalised embedding)."""
    coef, intercept = (np.array(logistic[0]), np.array(logistic[1])) if logistic is not None else (None, None)
    if anchors is not None and weight:
        unit = anchors / np.linalg.norm(anchors, axis=1, keepdims=True).clip(1e-12)
        coef = weight * scale * unit + (coef if coef is not None else 0.0)
        intercept = intercept if intercept is not None else np.zeros(len(anchors))
    return LinearHead(coef, intercept, np.arange(len(coef), dtype=np.int64), "logreg")


class AnchoredScores(nn.Module):
    """Scaled cosines between each text's pooled embedding and the class vectors: the anchors (label descriptions,
    embedded by the same body at every step, so the body learns both sides) or free vectors started at the labelled
    texts' means."""

    def __init__(self, encoder, anchors: dict | None, vectors: torch.Tensor | None, pooling: str, normalize: bool,
                 scale: float):
        super().__init__()
        self.encoder, self.pooling, self.normalize, self.scale = encoder, pooling, normalize, scale
        self.anchors = anchors  # a padded batch of the descriptions' tokens
        self.vectors = nn.Parameter(vectors) if vectors is not None else None

    def embed(self, **batch) -> torch.Tensor:
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1) if self.pooling == "mean" else hidden[:, 0]
        return nn.functional.normalize(pooled, dim=-1) if self.normalize else pooled

    def forward(self, **batch):
        texts = nn.functional.normalize(self.embed(**batch), dim=-1)
        classes = self.embed(**self.anchors) if self.vectors is None else self.vectors
        return self.scale * texts @ nn.functional.normalize(classes, dim=-1).T


class FewShotClassifier(TransformerClassifier):
    family = "fewshot"
    Params = FewShotParams
    PRESETS = {}
    ALIASES = {"body": "pretrained"}
    _validation: tuple[Split, np.ndarray] | None = None  # the validation split and its embeddings, while fitting
    SEARCH_SPACE = {"learning_rate": ["float-log", 2e-5, 1e-4], "epochs": ["choice", [10, 20, 30]],
                    "features_C": ["float-log", 0.1, 10.0]}

    def _fit(self, train: Split, validation: Split | None, *, seed=0, work_dir=None, resume=False, progress=True,
             on_epoch=None, unlabeled: list[str] | None = None, descriptions: list[str] | None = None):
        from .setfit import body_modules, local_body

        p = self.params
        self._start_fit(seed)
        source = local_body(p.pretrained, self.family)
        if self.multi_label:
            raise EmobenchError("the fewshot family classifies single-label data (one emotion per text); for several "
                                "labels per text use tfidf, lstm, setfit or a transformer")
        from transformers import AutoModel

        p.pooling, p.normalize = body_modules(Path(source))
        self.tokenizer = self._tokenizer(source)
        self.encoder = load_pretrained(AutoModel, source)
        self.descriptions = list(descriptions) if descriptions is not None else list(self.label_names)
        self.info = {"labelled_texts": len(train), "descriptions": "given" if descriptions is not None else "label names"}
        if len(train) and p.epochs:
            self._finetune(train, seed, work_dir, resume, progress, on_epoch)
        self.encoder = self.encoder.to("cpu").eval()
        anchors = self._encode(self.descriptions) if p.anchors or not len(train) else None
        self._validation = None
        if not len(train):  # zero-shot: the anchors alone; nothing is chosen on validation labels
            self.head = combine(None, anchors, p.scale, 1.0)
            if unlabeled:
                self.info["self_training"] = {"used": False, "why": "no labelled texts to check self-training against"}
        else:
            x = self._encode(train.texts, progress)
            if validation is not None and len(validation):
                self._validation = (validation, self._encode(validation.texts, progress))
            self.head, self.info["anchor_weight"] = self._best_head(self._logistic(x, train.labels, seed), anchors)
            if unlabeled:
                self._self_train(x, train, anchors, unlabeled, seed, progress)
        self.info.update({"parameters": sum(t.numel() for t in self.encoder.parameters()) + int(self.head.coef.size),
                          "mode": "features", "model_type": self.encoder.config.model_type, "pooling": p.pooling,
                          "normalize": p.normalize, "anchors": bool(anchors is not None)})

    # ------------------------------------------------------------------ fine-tuning the body
    def _finetune(self, train: Split, seed: int, work_dir, resume: bool, progress: bool, on_epoch) -> None:
        """The body trained on the shared loop towards each text's anchor (or class vector)."""
        from ..training import Trainer

        p = self.params
        steps_per_epoch = math.ceil(len(train) / p.batch_size)
        epochs = max(1, min(p.epochs, p.max_steps // steps_per_epoch))
        if steps_per_epoch > p.max_steps:  # whole epochs: a bound below one is not kept, and says so
            message = (f"max_steps={p.max_steps} is less than one epoch over {len(train)} texts ({steps_per_epoch} "
                       f"steps at batch {p.batch_size}): fine-tuning runs that one epoch")
            warnings.warn(message, EmobenchWarning, stacklevel=4)
            self.info["warnings"] = [*self.info.get("warnings", []), message]
        vectors = None
        anchors = self._collate(self._features(self.descriptions))
        if not p.anchors:  # class vectors start at the labelled texts' mean embeddings and are learned
            x = torch.from_numpy(self._encode(train.texts))
            vectors = torch.stack([x[np.asarray(train.labels) == k].mean(0) if (np.asarray(train.labels) == k).any()
                                   else torch.zeros(x.shape[1]) for k in range(len(self.label_names))])
        module = AnchoredScores(self.encoder.train(), anchors, vectors, p.pooling, p.normalize, p.scale)
        loop_params = dataclasses.replace(p, epochs=epochs, min_steps=0)
        trainer = Trainer(module, self._collate, loop_params, len(self.label_names), seed, progress)
        self.history = trainer.fit(self._features(train.texts), self.targets(train), None, None, work_dir=work_dir,
                                   resume=resume, on_epoch=on_epoch)
        self.trainer = trainer
        self.encoder = trainer.module.encoder
        self.info["finetune"] = {"epochs": epochs, "steps": epochs * steps_per_epoch,
                                 "class_vectors": "anchors" if p.anchors else "learned"}

    # ------------------------------------------------------------------ the head
    def _logistic(self, x: np.ndarray, labels, seed: int, weights: np.ndarray | None = None):
        """A logistic regression on the embeddings, as (coef, intercept) with a row per label; a label without a
        training text scores far below the others."""
        from sklearn.linear_model import LogisticRegression

        p, n = self.params, len(self.label_names)
        coef, intercept = np.zeros((n, x.shape[1])), np.zeros(n)
        fitted = LogisticRegression(C=p.features_C, max_iter=p.head_max_iter, random_state=seed,
                                    class_weight=p.class_weight).fit(x, labels, sample_weight=weights)
        present = np.asarray(fitted.classes_, dtype=np.int64)
        if len(present) == 1:  # one class only: it is always that class
            intercept[:] = -1e3
            intercept[present] = 0.0
            return coef, intercept
        coef[present], intercept[present] = fitted.coef_, fitted.intercept_
        intercept[np.setdiff1d(np.arange(n), present)] = fitted.intercept_.min() - 10.0
        return coef, intercept

    def _best_head(self, logistic, anchors: np.ndarray | None) -> tuple[LinearHead, dict]:
        """The head with ``anchor_weight``, or with the weight that scores best on validation (ties: the smaller), and
        how the weight was chosen (recorded by the caller for the head it keeps)."""
        p = self.params
        if anchors is None:
            return combine(logistic, None, p.scale, 0.0), {"value": 0.0, "chosen": "no anchors"}
        if p.anchor_weight is not None or self._validation is None:
            weight = 1.0 if p.anchor_weight is None else p.anchor_weight
            return combine(logistic, anchors, p.scale, weight), {
                "value": weight, "chosen": "given" if p.anchor_weight is not None
                else "default (no validation split to choose on)"}
        scores = {w: self._validation_f1(combine(logistic, anchors, p.scale, w)) for w in ANCHOR_WEIGHTS}
        weight = max(ANCHOR_WEIGHTS, key=lambda w: (scores[w], -w))
        return combine(logistic, anchors, p.scale, weight), {
            "value": weight, "chosen": "validation macro-F1",
            "validation_macro_f1": {str(w): round(float(f), 4) for w, f in scores.items()}}

    def _validation_f1(self, head: LinearHead) -> float:
        from ..evaluation.metrics import compute_metrics

        validation, v = self._validation
        predicted = head.scores(v, len(self.label_names)).argmax(1)
        return compute_metrics(np.asarray(validation.labels), predicted, self.label_names).macro.f1

    def validation_logits(self, validation: Split) -> np.ndarray:
        if self._validation is not None and self._validation[0] is validation:
            return self.head.scores(self._validation[1], len(self.label_names))
        return super().validation_logits(validation)

    # ------------------------------------------------------------------ self-training
    def _self_train(self, x: np.ndarray, train: Split, anchors, unlabeled: list[str], seed: int, progress: bool) -> None:
        p = self.params
        known = set(train.texts)
        pool = sorted({t for t in unlabeled if t.strip() and t not in known})
        rng = np.random.default_rng(seed)
        pool = [pool[i] for i in sorted(rng.permutation(len(pool))[: p.unlabeled_max])]
        record = {"used": False, "pool": len(pool), "given": len(unlabeled)}
        if not pool:
            self.info["self_training"] = {**record, "why": "no unlabeled text beyond the labelled ones"}
            return
        u = self._encode(pool, progress)
        scores = self.head.scores(u, len(self.label_names))
        probs = np.exp(scores - scores.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        guess, confidence = probs.argmax(1), probs.max(1)
        chosen = np.concatenate([np.flatnonzero(guess == k)[np.argsort(-confidence[guess == k], kind="stable")]
                                 [: p.pseudo_per_class] for k in range(len(self.label_names))])
        weights = np.concatenate([np.ones(len(x)), np.full(len(chosen), p.pseudo_weight)])
        labels = np.concatenate([np.asarray(train.labels), guess[chosen]])
        candidate, weight = self._best_head(self._logistic(np.vstack([x, u[chosen]]), labels, seed, weights), anchors)
        record.update({"pseudo_labelled": int(len(chosen)),
                       "per_label": {self.label_names[k]: int((guess[chosen] == k).sum()) for k in range(len(self.label_names))}})
        if self._validation is None:  # nothing to check it on: an unchecked change of the model is not made
            message = (f"the {len(pool)} unlabeled texts are not used: self-training is kept only where a validation "
                       "split shows it helps, and there is none")
            warnings.warn(message, EmobenchWarning, stacklevel=4)
            self.info["warnings"] = [*self.info.get("warnings", []), message]
            self.info["self_training"] = {**record, "why": "no validation split to check it on"}
            return
        if not p.self_training_check:
            self.head, record["used"], record["why"] = candidate, True, "used unchecked (self_training_check=false)"
            self.info["self_training"], self.info["anchor_weight"] = record, weight
            return
        before, after = self._validation_f1(self.head), self._validation_f1(candidate)
        record["validation_macro_f1"] = {"without": round(float(before), 4), "with": round(float(after), 4)}
        if after >= before:
            self.head, record["used"], self.info["anchor_weight"] = candidate, True, weight
        else:
            record["why"] = "validation macro-F1 was lower with the pseudo-labelled texts"
        self.info["self_training"] = record

    # ------------------------------------------------------------------ calibration
    def _fit_temperature(self, validation: Split | None) -> None:
        """Calibrated on validation labels only where labels were used: a model trained on none stays uncalibrated
        (its probabilities are the anchors' softmax at ``scale``), so the zero-shot point sees no label at all."""
        if not self.info.get("labelled_texts"):
            self.info["calibration"] = "none: no labelled texts were used, validation labels included"
            return
        super()._fit_temperature(validation)

    @staticmethod
    def available_offline(params) -> bool:
        return Path(resolve_pretrained(params.pretrained)).is_dir()

    @classmethod
    def describe(cls, info: dict) -> list[str]:
        if not info:
            return []
        lines = [f"body: {info.get('model_type')} encoder, {info.get('pooling')} pooling; "
                 f"{info.get('labelled_texts', 0)} labelled texts, anchors from the "
                 f"{'given descriptions' if info.get('descriptions') == 'given' else 'label names'}"]
        st = info.get("self_training")
        if st:
            lines.append(f"self-training: {'used' if st.get('used') else 'not used'}"
                         + (f", {st.get('pseudo_labelled')} pseudo-labelled of {st.get('pool')}" if st.get("pool") else "")
                         + (f" ({st['why']})" if st.get("why") else ""))
        return lines

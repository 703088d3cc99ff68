"""Hyper-parameter search on Optuna: TPE sampling, pruning by per-epoch validation macro-F1, resumable
through Optuna's SQLite storage. Trials train on the training split and are scored on validation only --
the test split is never read until the best configuration is trained as an ordinary run.

The folder is described in :mod:`emobench.records.tuning`. Running the same command again continues the
study, with the trials emobench ran there and nothing else (the ledger); one process tunes a folder at a time.
The space is :mod:`.tune_space`, the study's storage :mod:`.tune_storage`, a trial :mod:`.tune_trials`, the
summary :mod:`.tune_summary`; this module plans, continues and runs the search, then trains the best.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..claims import Lock
from ..data import Corpus, DatasetConfig, load_dataset
from ..errors import EmobenchError, option
from ..files import LOCK_FILE, MANIFEST, check_output_folder, check_outside_records, check_plain_name, json_text, write_text_atomic
from ..manifest import Folder, write_manifest
from ..logs import logger as log
from ..models.registry import DEFAULT_TUNED_MODEL, ModelSpec, resolve
from ..records.base import validate
from ..records.run import RunRecord
from ..records.tuning import (LEDGER, STUDY_DB, TUNE, Ledger, LedgerEntry, TuneDescription, TuningRecord,
                              check_study_db, check_trials, in_space, read_ledger, write_ledger)
from ..tracking import tracker_for
from .data_checks import check_fit_inputs, cleaned
from .run import check_no_labels
from .run import MAX_SEED, RunConfig, train
from .tune_space import corners, parse_space  # noqa: F401 - the CLI parses --space through here
from .tune_storage import check_storage, join, open_study, own_trials, shown_url
from .tune_summary import summarise
from .tune_trials import Objective, TrialFailed


@dataclass
class TuneConfig:
    model: str = DEFAULT_TUNED_MODEL
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    trials: int = 20
    timeout: float | None = None  # seconds; no new trial starts after it
    seed: int = 0
    preset: str | None = None
    overrides: dict = field(default_factory=dict)  # fixed for every trial
    space: dict = field(default_factory=dict)  # name -> spec, replacing the family's default space
    output_dir: str = "tuning"
    name: str | None = None
    # An Optuna RDB URL (sqlite:///path, postgresql://..., mysql://...): several tune processes, on one machine or
    # many, work on the study named ``name`` there; each keeps its own folder and ledger of the trials it ran.
    storage: str | None = None

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "storage": shown_url(self.storage)}


def plan(config: TuneConfig) -> tuple[Path, dict, ModelSpec]:
    """Validate before any work: model, fixed parameters, the space, trials, timeout, names."""
    if config.trials < 1:
        raise EmobenchError(f"{option('trials')} {config.trials}: expected at least 1")
    check_storage(config.storage, config.name)
    if config.timeout is not None and not config.timeout > 0:
        raise EmobenchError(f"{option('timeout')} {config.timeout}: expected a number of seconds > 0")
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or not 0 <= config.seed <= MAX_SEED:
        raise EmobenchError(f"{option('seed')} {config.seed!r}: expected a seed from 0 to {MAX_SEED:,}")
    check_output_folder(config.output_dir)
    check_outside_records(config.output_dir, "output_dir")
    spec = resolve(config.model, config.overrides, config.preset)
    check_fit_inputs(config.dataset, spec)  # before any data is read
    check_no_labels(config.dataset, spec)
    both = sorted(set(config.space or {}) & set(config.overrides))
    if both:
        raise EmobenchError(f"{both[0]} is both fixed ({option('overrides')}) and searched ({option('space')}); give it "
                            "one way")
    space = {k: list(v) for k, v in (config.space or spec.family_class.SEARCH_SPACE).items() if k not in config.overrides}
    if not space:
        raise EmobenchError(f"nothing to tune for {config.model!r}: give {option('space')} name=low:high or name=a,b,c")
    for corner in corners(space):  # every corner of the space must be a valid configuration
        spec.with_overrides(corner)
    name = check_plain_name(config.name) if config.name else \
        f"{config.dataset.short_name}-{spec.folder_name}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    folder = Path(config.output_dir) / name
    if folder.exists() and not folder.is_dir():
        raise EmobenchError(f"{folder} is a file, not a tuning folder; choose another {option('name')}")
    return folder, space, spec


def tune(config: TuneConfig, progress: bool = True, track: list[str] = (), allow_modified: bool = False) -> TuningRecord:
    """Search, then train the best configuration as an ordinary run; returns the tuning folder's record."""
    try:
        import optuna
    except ImportError:
        raise EmobenchError("emobench tune needs Optuna (pip install 'emobench[tune]')") from None
    from ..logs import debugging, quiet_libraries

    quiet_libraries(10 if debugging() else 40)  # Optuna's own per-trial lines only when debugging
    folder, space, spec = plan(config)
    corpus = cleaned(load_dataset(config.dataset), config.dataset)  # --label-issues: the cleaned training split
    if "validation" not in corpus.splits:
        raise EmobenchError(f"{corpus.name} has no validation split; tuning scores trials on validation only")
    asked = json.loads(json_text({"format": 3, "model": config.model, "dataset": config.dataset.resolved().to_dict(),
                                  "seed": config.seed, "preset": config.preset, "overrides": config.overrides,
                                  "space": space, "storage": shown_url(config.storage),
                                  "study": config.name if config.storage else None}))
    validate(TuneDescription, asked, "the tuning description")
    created, output_existed = not folder.exists(), folder.parent.exists()
    folder.mkdir(parents=True, exist_ok=True)
    # Claimed before anything is judged: of two identical commands started at once, one tunes and the other is told who.
    lock = Lock.of(folder, "tuning").acquire(take_over_stale=True)
    tuning = Tuning(optuna, config, folder, space, spec, corpus, asked)
    try:
        study, finished = tuning.open(allow_modified)
        tuning.search(study, finished, track)
        tuning.train_best(study, progress, track, allow_modified)
        summarise(optuna, study, folder, config, space, allow_modified)
        write_manifest(folder)
    except BaseException:
        # A folder this command made that holds no trial is not worth keeping: it would only block the rerun
        # (a storage that cannot be reached, a refused study, an interrupted start).
        if created and not (tuning.ledger and tuning.ledger.trials) and not (folder / LEDGER).is_file():
            lock.release()
            shutil.rmtree(folder, ignore_errors=True)
            if not output_existed and folder.parent.is_dir() and not any(folder.parent.iterdir()):
                folder.parent.rmdir()  # nor the output folder made for it
        raise
    finally:
        lock.release()
    return TuningRecord.load(folder, allow_modified)


class Tuning:
    """A tuning folder being worked on (locked): its study continued or begun, its trials run, the best trained. The
    ledger is kept here as it grows, so a failed start can tell whether the folder holds any trial."""

    def __init__(self, optuna, config: TuneConfig, folder: Path, space: dict, spec: ModelSpec, corpus: Corpus,
                 asked: dict):
        self.optuna, self.config, self.folder, self.space, self.spec = optuna, config, folder, space, spec
        self.corpus, self.asked = corpus, asked
        self.shared = config.storage is not None
        self.ledger: Ledger | None = None

    def open(self, allow_modified: bool = False):
        """The study, its finished trials checked against the ledger (emobench ran them, inside the space), and
        tune.json written; returns the study and how many of the trials this folder counts are finished."""
        optuna, config, folder = self.optuna, self.config, self.folder
        existed = any(entry.name != LOCK_FILE for entry in folder.iterdir())
        if existed and not (folder / TUNE).is_file():
            raise EmobenchError(f"{folder} exists and is not a tuning folder; choose another {option('name')}")
        self.ledger = _continue(folder, self.asked, allow_modified) if existed else Ledger()
        study = open_study(optuna, folder, config.seed, config.storage, config.name)
        if self.shared:
            join(study, self.asked, config.name, config.storage, self.corpus)
        # A shared study holds other processes' trials too: this folder's ledger answers for its own only.
        mine = own_trials(study, folder) if self.shared else None
        finished = [(t.number, t.state.name.lower(), t.params, t.value) for t in study.trials
                    if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
                    and (mine is None or t.number in mine)]
        adopted = self.ledger is None  # a folder of emobench 0.2: no ledger; its trials are adopted, inside the space only
        if adopted:
            self.ledger = Ledger(trials=[LedgerEntry(number=n, state=state, params=p, value=v)
                                         for n, state, p, v in finished])
        failed = {t.number for t in study.trials if t.state == optuna.trial.TrialState.FAIL}
        check_trials(finished, self.ledger, self.space, folder / STUDY_DB if not self.shared else folder / LEDGER, failed)
        if (folder / "best").is_dir():  # checked before the folder is changed: a refusal leaves it verified
            RunRecord.load(folder / "best", allow_modified)
        (folder / MANIFEST).unlink(missing_ok=True)  # being changed: complete again only at the end
        write_text_atomic(folder / TUNE, json_text(self.asked))
        if adopted:
            write_ledger(folder, self.ledger)
        if any(entry.number in failed for entry in self.ledger.trials):
            self.ledger = Ledger(trials=[entry for entry in self.ledger.trials if entry.number not in failed])
            write_ledger(folder, self.ledger)
        if not study.trials:
            first = {k: getattr(self.spec.params, k) for k, dim in self.space.items()
                     if in_space(getattr(self.spec.params, k), dim)}
            if first:
                study.enqueue_trial(first, user_attrs={"default": True})
        return study, len(finished)

    def search(self, study, finished: int, track=()) -> None:
        """The trials still to run (a shared study: until it holds ``trials`` finished trials, whoever ran them)."""
        optuna, config, corpus = self.optuna, self.config, self.corpus
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        done = [t for t in study.trials if t.state in states]
        remaining = config.trials - (len(done) if self.shared else finished)
        if remaining <= 0:
            return
        log.info("tuning %s on %s: %d trial(s) to run (%d done), search space %s", config.model, corpus.name, remaining,
                 finished, self.space)
        trial_data = Corpus(corpus.name, corpus.label_names, {k: v for k, v in corpus.splits.items() if k != "test"},
                            corpus.source, unlabeled=corpus.unlabeled,
                            descriptions=corpus.descriptions)  # the trials never see the test split
        objective = Objective(self.spec, self.space, trial_data, self.folder, self.ledger, config.seed, config.overrides,
                              config.trials, self.shared, track)
        # Shared: every process stops when the study holds --trials finished trials, whoever ran them.
        callbacks = [optuna.study.MaxTrialsCallback(config.trials, states=states)]
        study.optimize(objective, n_trials=None if self.shared else remaining, timeout=config.timeout,
                       catch=(TrialFailed,), gc_after_trial=True, callbacks=callbacks if self.shared else None)

    def train_best(self, study, progress: bool, track=(), allow_modified: bool = False) -> None:
        """The best trial's configuration trained as an ordinary run (``best/``), again when a better trial came since."""
        config, folder = self.config, self.folder
        complete = [t for t in study.trials if t.state == self.optuna.trial.TrialState.COMPLETE]
        if not complete:
            raise EmobenchError(f"{folder}: no trial completed; nothing to train")
        best = study.best_trial
        tracker = tracker_for(track, folder, "tune", f"best-{config.model}")
        if (folder / "best").is_dir():
            recorded = RunRecord.load(folder / "best", allow_modified)
            if recorded.config.overrides != {**config.overrides, **best.params}:
                shutil.rmtree(folder / "best")  # a better trial came since: retrain
        if not (folder / "best").is_dir():
            shutil.rmtree(folder / "best.partial", ignore_errors=True)
            log.info("best trial %d (validation macro-F1 %.4f): training it as an ordinary run", best.number, best.value)
            train(RunConfig(model=config.model, dataset=config.dataset, seed=config.seed, preset=config.preset,
                            overrides={**config.overrides, **best.params}, output_dir=str(folder), name="best"),
                  progress=progress, corpus=self.corpus, tracker=tracker)


def _continue(folder: Path, asked: dict, allow_modified: bool) -> Ledger | None:
    """An existing tuning folder, checked before it is continued: its files (manifest), what it tunes, its
    database and its ledger. None: a folder of emobench 0.2 (no ledger)."""
    if not (folder / TUNE).is_file():
        raise EmobenchError(f"{folder} exists and is not a tuning folder; choose another {option('name')}")
    files = Folder(folder, "tuning", allow_modified, note_unverified=not (folder / LEDGER).is_file())
    before = validate(TuneDescription, files.read_json(TUNE, "tuning description"), folder / TUNE).dump()
    changed = sorted(k for k in asked if k != "format" and before.get(k) != asked[k])
    if changed:
        raise EmobenchError(f"{folder} tunes another configuration ({', '.join(changed)} differ); choose another "
                            f"{option('name')}")
    check_study_db(folder / STUDY_DB)
    return read_ledger(files)

"""Hyper-parameter search on Optuna: TPE sampling, pruning by per-epoch validation macro-F1, resumable
through Optuna's SQLite storage. Trials train on the training split and are scored on validation only --
the test split is never read until the best configuration is trained as an ordinary run.

The folder is described in :mod:`emobench.records.tuning`. Running the same command again continues the
study, with the trials emobench ran there and nothing else (the ledger); one process tunes a folder at a time.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..claims import Lock
from ..data import Corpus, DatasetConfig, load_dataset
from ..errors import EmobenchError, RecordError, option
from ..files import LOCK_FILE, MANIFEST, Folder, check_output_folder, check_outside_records, check_plain_name, json_text, write_manifest, write_text_atomic
from ..logs import logger as log
from ..params import coerce_field
from ..models.registry import params_type as params_type_of
from ..models.registry import DEFAULT_TUNED_MODEL, resolve
from ..records.base import validate
from ..records.run import RunRecord, gold_names, split_digest
from ..records.tuning import (IMPORTANCE, LEDGER, STUDY_DB, TUNE, Ledger, LedgerEntry, TuneDescription, TuningRecord,
                              check_study_db, check_trials, in_space, read_ledger, write_ledger, write_summary,
                              write_trials)
from .run import MAX_SEED, RunConfig, cleaned, train

STUDY = "emobench"


class TrialFailed(Exception):
    """A trial whose parameters cannot be trained on this data: recorded as failed, and the study goes on."""


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


def shown_url(url: str | None) -> str | None:
    """A storage URL as it may be recorded or printed: its password hidden."""
    if not url:
        return url
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL: checked (and refused) by check_storage
        return "(not a URL)"


def check_storage(url: str | None, name: str | None) -> None:
    """A shared study's storage, before any work: a URL of a database Optuna can share, and a study name."""
    if url is None:
        return
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - sqlalchemy's ArgumentError and friends
        raise EmobenchError(f"{option('storage')} {shown_url(url)}: not a database URL; expected e.g. "
                            "sqlite:////shared/tune.db or postgresql://user:pass@host/db") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "mysql", "mariadb", "oracle", "mssql"):
        raise EmobenchError(f"{option('storage')} {shown_url(url)}: {backend!r} is not a database Optuna's RDB storage "
                            "uses (sqlite, postgresql, mysql, ...)")
    if backend == "sqlite" and (not parsed.database or parsed.database == ":memory:"):
        raise EmobenchError(f"{option('storage')} {url}: an in-memory SQLite database is not shared by anyone; give a "
                            "file (sqlite:////path/to/tune.db)")
    if not name:
        raise EmobenchError(f"{option('storage')} needs {option('name')}: the name of the study every process works on")
    if backend == "sqlite":
        folder = Path(parsed.database).expanduser().parent
        if not folder.is_dir():
            raise EmobenchError(f"{option('storage')} {shown_url(url)}: the folder {folder} does not exist; the database file "
                                "is created in an existing folder")
        check_outside_records(folder, "storage", Path(parsed.database))  # never inside a run or model it would break
    _check_driver(parsed, url)
    _check_connection(parsed, url)


# The driver SQLAlchemy uses for each database when the URL names none, and what installs it.
DRIVERS = {"postgresql": "pip install 'emobench[postgres]' (psycopg 3, SQLAlchemy's PostgreSQL driver)",
           "mysql": "pip install pymysql and write mysql+pymysql://...", "mariadb": "pip install pymysql and write "
           "mariadb+pymysql://...", "oracle": "pip install oracledb", "mssql": "pip install pyodbc"}


def _check_driver(parsed, url: str) -> None:
    """The database driver the URL needs is importable (SQLAlchemy would otherwise fail at the first query)."""
    try:
        parsed.get_dialect().import_dbapi()
    except ImportError as exc:
        named = "+" in parsed.drivername  # postgresql+pg8000://: the URL chose its driver
        hint = f"pip install {exc.name or 'the driver'}" if named else \
            DRIVERS.get(parsed.get_backend_name(), "install the driver the URL names")
        raise EmobenchError(f"{option('storage')} {shown_url(url)}: the database driver is not installed "
                            f"({exc.name or exc}); {hint}") from None
    except Exception as exc:  # noqa: BLE001 - an unknown driver name (postgresql+nosuch://)
        raise EmobenchError(f"{option('storage')} {shown_url(url)}: SQLAlchemy has no such database driver "
                            f"({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else 'no detail'})") from None


def _check_connection(parsed, url: str) -> None:
    """One connection before any folder is made: a refused connection, a wrong password or a missing database is an
    error naming the database (password hidden), not a folder left behind."""
    if parsed.get_backend_name() == "sqlite":
        return  # a missing file is created; its folder was checked
    from sqlalchemy import create_engine

    args = {"connect_timeout": 10} if parsed.get_backend_name() in ("postgresql", "mysql", "mariadb") else {}
    engine = create_engine(parsed, connect_args=args)
    try:
        with engine.connect():
            pass
    except Exception as exc:  # noqa: BLE001 - every driver has its own error types
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise EmobenchError(f"{option('storage')} {shown_url(url)}: cannot connect to the database "
                            f"({detail[0][:300] if detail else type(exc).__name__})") from None
    finally:
        engine.dispose()


def parse_space(pairs: list[str], model: str) -> dict:
    """``name=low:high[:log]`` (numbers) or ``name=a,b,c`` (choices), for a parameter of ``model``'s family. Every
    bound and choice is checked against the parameter's type and range here, so a refusal quotes what was typed; a
    parameter searched twice, an integer parameter with fractional bounds, or a non-finite bound is refused."""
    import math
    import re
    import types
    import typing

    from ..params import check_field

    params_type = params_type_of(model)
    fields = {f.name: f for f in dataclasses.fields(params_type)}
    hints = typing.get_type_hints(params_type)
    aliases = getattr(resolve(model).family_class, "ALIASES", {})  # setfit, static: body = pretrained

    def options(name: str) -> tuple:
        hint = hints[name]
        return typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)

    space = {}
    for pair in pairs or []:
        key, sep, spec = pair.partition("=")
        key = key.strip().replace("-", "_")
        key = aliases.get(key, key)
        if not sep or key not in fields:
            raise EmobenchError(f"{option('space')} {pair!r}: expected name=low:high[:log] or name=a,b,c with a parameter of "
                                f"{params_type.__qualname__} ({', '.join(fields)})")
        if key in space:
            raise EmobenchError(f"{option('space')} {pair!r}: {key} is searched twice; give one {option('space')} per "
                                "parameter")
        kinds = options(key)
        integer = int in kinds and float not in kinds
        numeric = integer or float in kinds
        if ":" in spec and numeric:
            parts = [part.strip() for part in spec.split(":")]
            if len(parts) not in (2, 3):
                raise EmobenchError(f"{option('space')} {pair!r}: expected numbers low:high[:log]")
            bounds = []
            for text in parts[:2]:
                if integer and not re.fullmatch(r"[+-]?[0-9]{1,15}", text):
                    raise EmobenchError(f"{option('space')} {pair!r}: {key} is an integer parameter; expected integer "
                                        "bounds low:high[:log]")
                try:
                    number = float(text) if re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?"
                                                         r"(nan|inf|infinity)", text, re.IGNORECASE) else None
                except ValueError:
                    number = None
                if number is None:
                    raise EmobenchError(f"{option('space')} {pair!r}: expected numbers low:high[:log]")
                if not math.isfinite(number):
                    raise EmobenchError(f"{option('space')} {pair!r}: {text} is not a finite number; expected numbers "
                                        "low:high[:log]")
                bounds.append(number)
            low, high = bounds
            scale = parts[2] if len(parts) > 2 else "linear"
            if not low < high or scale not in ("linear", "log") or (scale == "log" and low <= 0):
                raise EmobenchError(f"{option('space')} {pair!r}: expected low < high (and low > 0 for log)")
            for text, number in zip(parts[:2], bounds):
                try:
                    check_field(params_type, key, int(number) if integer else number, text)
                except EmobenchError as exc:
                    raise EmobenchError(f"{option('space')} {pair!r}: {exc}") from None
            kind = "int" if integer else "float"
            space[key] = [f"{kind}-log" if scale == "log" else kind, low, high]
        else:
            texts = [v.strip() for v in spec.split(",") if v.strip()]
            if not texts:
                raise EmobenchError(f"{option('space')} {pair!r}: no choices; expected name=a,b,c or name=low:high[:log]")
            choices = {}
            for text in texts:
                value = coerce_field(params_type, key, text)
                try:
                    check_field(params_type, key, value, text)
                except EmobenchError as exc:
                    raise EmobenchError(f"{option('space')} {pair!r}: {exc}") from None
                choices.setdefault((type(value), value), value)
            space[key] = ["choice", list(choices.values())]
    return space


def _suggest(trial, name: str, spec: list):
    kind = spec[0]
    if kind == "choice":
        return trial.suggest_categorical(name, spec[1])
    low, high = spec[1], spec[2]
    if kind.startswith("int"):
        return trial.suggest_int(name, int(low), int(high), log=kind.endswith("log"))
    return trial.suggest_float(name, low, high, log=kind.endswith("log"))


def plan(config: TuneConfig) -> tuple[Path, dict, object]:
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
    both = sorted(set(config.space or {}) & set(config.overrides))
    if both:
        raise EmobenchError(f"{both[0]} is both fixed ({option('overrides')}) and searched ({option('space')}); give it "
                            "one way")
    space = {k: list(v) for k, v in (config.space or spec.family_class.SEARCH_SPACE).items() if k not in config.overrides}
    if not space:
        raise EmobenchError(f"nothing to tune for {config.model!r}: give {option('space')} name=low:high or name=a,b,c")
    for name, dimension in space.items():  # every corner of the space must be a valid configuration
        values = dimension[1] if dimension[0] == "choice" else [dimension[1], dimension[2]]
        for value in values:
            spec.with_overrides({name: value if not isinstance(value, float) or not dimension[0].startswith("int")
                                 else int(value)})
    name = check_plain_name(config.name) if config.name else \
        f"{config.dataset.short_name}-{config.model.replace('hf:', '').replace('/', '_')}-" \
        f"{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
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
    ledger = None
    try:
        existed = any(entry.name != LOCK_FILE for entry in folder.iterdir())
        if existed and not (folder / TUNE).is_file():
            raise EmobenchError(f"{folder} exists and is not a tuning folder; choose another {option('name')}")
        ledger = _continue(folder, asked, allow_modified) if existed else Ledger()
        study = _study(optuna, folder, config.seed, config.storage, config.name)
        shared = config.storage is not None
        if shared:
            _join(study, asked, config, corpus)
        # A shared study holds other processes' trials too: this folder's ledger answers for its own only.
        mine = _own_trials(study, folder) if shared else None
        finished = [(t.number, t.state.name.lower(), t.params, t.value) for t in study.trials
                    if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
                    and (mine is None or t.number in mine)]
        adopted = ledger is None  # a folder of emobench 0.2: no ledger; its trials are adopted, inside the space only
        if adopted:
            ledger = Ledger(trials=[LedgerEntry(number=n, state=state, params=p, value=v) for n, state, p, v in finished])
        failed = {t.number for t in study.trials if t.state == optuna.trial.TrialState.FAIL}
        check_trials(finished, ledger, space, folder / STUDY_DB if not shared else folder / LEDGER, failed)
        if (folder / "best").is_dir():  # checked before the folder is changed: a refusal leaves it verified
            RunRecord.load(folder / "best", allow_modified)
        (folder / MANIFEST).unlink(missing_ok=True)  # being changed: complete again only at the end
        write_text_atomic(folder / TUNE, json_text(asked))
        if adopted:
            write_ledger(folder, ledger)
        if any(entry.number in failed for entry in ledger.trials):
            ledger = Ledger(trials=[entry for entry in ledger.trials if entry.number not in failed])
            write_ledger(folder, ledger)
        if not study.trials:
            first = {k: getattr(spec.params, k) for k, dim in space.items() if in_space(getattr(spec.params, k), dim)}
            if first:
                study.enqueue_trial(first, user_attrs={"default": True})
        done = [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
        remaining = config.trials - len(done if shared else finished)
        if remaining > 0:
            log.info("tuning %s on %s: %d trial(s) to run (%d done), search space %s", config.model, corpus.name, remaining,
                     len(finished), space)
            trial_data = Corpus(corpus.name, corpus.label_names, {k: v for k, v in corpus.splits.items() if k != "test"},
                                corpus.source)  # the trials never see the test split
            objective = _objective(config, spec, space, trial_data, folder, track, ledger)
            # Shared: every process stops when the study holds --trials finished trials, whoever ran them.
            callbacks = [optuna.study.MaxTrialsCallback(config.trials, states=(optuna.trial.TrialState.COMPLETE,
                                                                               optuna.trial.TrialState.PRUNED))]
            study.optimize(objective, n_trials=None if shared else remaining, timeout=config.timeout, catch=(TrialFailed,),
                           gc_after_trial=True, callbacks=callbacks if shared else None)
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if not complete:
            raise EmobenchError(f"{folder}: no trial completed; nothing to train")
        best = study.best_trial
        tracker = _tracker(track, folder, f"best-{config.model}")
        if (folder / "best").is_dir():
            recorded = RunRecord.load(folder / "best", allow_modified)
            if recorded.config.overrides != {**config.overrides, **best.params}:
                shutil.rmtree(folder / "best")  # a better trial came since: retrain
        if not (folder / "best").is_dir():
            shutil.rmtree(folder / "best.partial", ignore_errors=True)
            log.info("best trial %d (validation macro-F1 %.4f): training it as an ordinary run", best.number, best.value)
            train(RunConfig(model=config.model, dataset=config.dataset, seed=config.seed, preset=config.preset,
                            overrides={**config.overrides, **best.params}, output_dir=str(folder), name="best"),
                  progress=progress, corpus=corpus, tracker=tracker)
        _summarise(optuna, study, folder, config, space, allow_modified)
        write_manifest(folder)
    except BaseException:
        # A folder this command made that holds no trial is not worth keeping: it would only block the rerun
        # (a storage that cannot be reached, a refused study, an interrupted start).
        if created and not (ledger and ledger.trials) and not (folder / LEDGER).is_file():
            lock.release()
            shutil.rmtree(folder, ignore_errors=True)
            if not output_existed and folder.parent.is_dir() and not any(folder.parent.iterdir()):
                folder.parent.rmdir()  # nor the output folder made for it
        raise
    finally:
        lock.release()
    return TuningRecord.load(folder, allow_modified)


def _continue(folder: Path, asked: dict, allow_modified: bool) -> Ledger | None:
    """An existing tuning folder, checked before it is continued: its files (manifest), what it tunes, its
    database and its ledger. None: a folder of emobench 0.2 (no ledger)."""
    if not (folder / TUNE).is_file():
        raise EmobenchError(f"{folder} exists and is not a tuning folder; choose another {option('name')}")
    files = Folder(folder, "tuning", allow_modified, note_unverified=not (folder / LEDGER).is_file())
    before = validate(TuneDescription, files.read_json(TUNE, "tuning description"), folder / TUNE).model_dump(mode="json")
    changed = sorted(k for k in asked if k != "format" and before.get(k) != asked[k])
    if changed:
        raise EmobenchError(f"{folder} tunes another configuration ({', '.join(changed)} differ); choose another "
                            f"{option('name')}")
    check_study_db(folder / STUDY_DB)
    return read_ledger(files)


def _study(optuna, folder: Path, seed: int, url: str | None = None, name: str | None = None):
    path = folder / STUDY_DB
    for attempt in range(5):  # processes creating one new shared study at once race on its tables: the loser retries
        try:
            return _open_study(optuna, folder, seed, url, name, path)
        except RecordError as exc:
            racing = "UNIQUE constraint failed: alembic_version" in str(exc) or "already exists" in str(exc)
            if not (url and racing) or attempt == 4:
                raise
            time.sleep(0.5 + attempt)


def _open_study(optuna, folder: Path, seed: int, url: str | None, name: str | None, path: Path):
    try:
        storage = optuna.storages.RDBStorage(url or f"sqlite:///{path.resolve()}",
                                             engine_kwargs={"connect_args": {"timeout": 30}} if (url or "sqlite").startswith(
                                                 "sqlite") else None)
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=5)
        pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2)
        study = optuna.create_study(study_name=name if url else STUDY, storage=storage, direction="maximize",
                                    sampler=sampler, pruner=pruner, load_if_exists=True)
        owner = str(folder.resolve())
        for trial in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):  # killed mid-trial last time
            if url and trial.user_attrs.get(OWNER_KEY) != owner:
                continue  # a shared study: another process may be running it right now
            storage.set_trial_state_values(trial._trial_id, state=optuna.trial.TrialState.FAIL)
            log.warning("trial %d was interrupted last time; marked failed and not counted", trial.number)
    except EmobenchError:
        raise
    except Exception as exc:  # sqlalchemy and Optuna errors for a database that is not Optuna's, or not this version's
        where = shown_url(url) if url else path
        raise RecordError(f"{where}: Optuna cannot use the study database ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:300] if str(exc) else 'no detail'})") from None
    return study


SHARED_KEY, OWNER_KEY = "emobench", "emobench_folder"


def _join(study, asked: dict, config: TuneConfig, corpus: Corpus) -> None:
    """A shared study records what it tunes when it is created; a process asking for anything else is refused. The
    data is compared by what the trials see -- the labels and a digest of every training and validation text and label,
    in order, after any budget or cleaning -- so a process reading the same files from another path joins, and one with
    other data, labels, a budget or cleaning does not."""
    wanted = {k: asked[k] for k in ("model", "seed", "preset", "overrides", "space")}
    wanted["labels"] = list(corpus.label_names)
    wanted["data"] = {name: split_digest(corpus[name].texts, gold_names(corpus[name], corpus.label_names))
                      for name in ("train", "validation")}
    wanted = json.loads(json.dumps(wanted))
    recorded = study.user_attrs.get(SHARED_KEY)
    if recorded is None:
        study.set_user_attr(SHARED_KEY, wanted)
        return
    changed = sorted(k for k in set(wanted) | set(recorded) if recorded.get(k) != wanted.get(k))
    if changed:
        said = {"data": "the training or validation texts or labels", "labels": "the labels"}
        raise EmobenchError(f"study {config.name!r} in {shown_url(config.storage)} tunes another configuration "
                            f"({', '.join(said.get(k, k) for k in changed)} differ); join it with the same model, data, "
                            f"seed, fixed parameters and space, or choose another {option('name')}")


SURPLUS = "surplus"


def _check_not_surplus(trial, wanted: int) -> None:
    """A shared study stops at ``wanted`` trials, whoever runs them; processes that each see one trial missing start
    one at the same moment. Trial numbers are given out by the database one at a time, so the trials numbered before
    this one decide: if ``wanted`` of them are finished or running, this one is not run (it is recorded as failed,
    marked surplus, and does not count) and the process stops."""
    import optuna

    counted = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.RUNNING)
    before = [t for t in trial.study.get_trials(deepcopy=False, states=counted) if t.number < trial.number]
    if len(before) >= wanted:
        trial.set_user_attr(SURPLUS, True)
        trial.study.stop()
        raise TrialFailed(f"the study already holds {wanted} trials")


def _own_trials(study, folder: Path) -> set[int]:
    """The trials of a shared study that this folder's process ran (marked when they started)."""
    owner = str(folder.resolve())
    return {t.number for t in study.trials if t.user_attrs.get(OWNER_KEY) == owner}


def _tracker(track, folder: Path, run_name: str):
    if not track:
        return None
    from ..tracking import Tracker

    return Tracker(list(track), folder / "tracking", experiment=f"emobench-tune-{folder.name}", run_name=run_name)


def _objective(config: TuneConfig, spec, space: dict, corpus: Corpus, folder: Path, track, ledger: Ledger):
    import optuna

    from ..evaluation.metrics import compute_metrics

    def record(trial, state: str, value: float | None) -> None:
        """Into the ledger before the trial ends, so a continued study knows emobench ran it."""
        ledger.trials.append(LedgerEntry(number=trial.number, state=state, params=dict(trial.params), value=value))
        write_ledger(folder, ledger)

    def objective(trial) -> float:
        trial.set_user_attr(OWNER_KEY, str(folder.resolve()))  # which folder's ledger answers for it
        if config.storage is not None:
            _check_not_surplus(trial, config.trials)
        values = {name: _suggest(trial, name, dimension) for name, dimension in space.items()}
        model = spec.with_overrides(values).build()
        tracker = _tracker(track, folder, f"trial-{trial.number}")
        if tracker:
            tracker.start({"trial": trial.number, "params": values, "fixed": config.overrides})

        def on_epoch(epoch: dict) -> None:
            if tracker:
                tracker.epoch(epoch)
            if "val_macro_f1" in epoch:
                trial.report(epoch["val_macro_f1"], epoch["epoch"])
                if trial.should_prune():
                    log.info("trial %d pruned after epoch %d (validation macro-F1 %.4f)", trial.number, epoch["epoch"],
                             epoch["val_macro_f1"])
                    # Optuna stores a pruned trial's last reported value as its value: the ledger records the same
                    record(trial, "pruned", float(epoch["val_macro_f1"]))
                    raise optuna.TrialPruned()

        started = time.perf_counter()
        try:
            try:
                # No work_dir: a trial is not resumable (a killed one is marked failed), so nothing is checkpointed.
                model.fit(corpus["train"], corpus["validation"], corpus.label_names, seed=config.seed, progress=False,
                          on_epoch=on_epoch)
            except (EmobenchError, ValueError) as exc:  # this trial's parameters do not work on this data
                trial.set_user_attr("error", str(exc)[:500])
                log.warning("trial %d failed (%s); the study goes on", trial.number, str(exc).splitlines()[0][:300])
                raise TrialFailed(str(exc)) from None
            if model.history:
                best = max(model.history, key=lambda h: h["val_macro_f1"])
                score, accuracy = best["val_macro_f1"], best["val_accuracy"]
                trial.set_user_attr("epochs", len(model.history))
                trial.set_user_attr("best_epoch", best["epoch"])
            else:  # scored as every run is: the model's own decision rule (argmax, or tuned thresholds)
                validation = corpus["validation"]
                metrics = compute_metrics(model.truth(validation), model.predict(validation.texts), corpus.label_names)
                score, accuracy = metrics["macro"]["f1"], metrics["accuracy"]
            trial.set_user_attr("val_accuracy", accuracy)
            trial.set_user_attr("seconds", time.perf_counter() - started)
            log.info("trial %d: validation macro-F1 %.4f (%s) in %.0f s", trial.number, score,
                     ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()),
                     time.perf_counter() - started)
            if tracker:
                tracker.finish(None, {"val_macro_f1": score, "val_accuracy": accuracy})
            record(trial, "complete", float(score))
            return score
        finally:
            if tracker:
                tracker.close()

    return objective


def _summarise(optuna, study, folder: Path, config: TuneConfig, space: dict, allow_modified: bool = False) -> None:
    from ..reporting.render import Bullets, Figure, Heading, Paragraph, Table, bold, code, render_markdown

    rows = []
    for t in study.trials:
        if t.user_attrs.get(SURPLUS):
            continue  # started when the shared study was already full: never run
        rows.append({"trial": t.number, "state": t.state.name.lower(), "val_macro_f1": t.value,
                     "val_accuracy": t.user_attrs.get("val_accuracy"), "epochs": t.user_attrs.get("epochs"),
                     "seconds": t.user_attrs.get("seconds"), "default": bool(t.user_attrs.get("default")),
                     "params": t.params})
    write_trials(folder, rows)
    importance = _importance_plot(optuna, study, folder / IMPORTANCE)
    best = study.best_trial
    run = RunRecord.load(folder / "best", allow_modified, check_predictions=False).metrics.model_dump(mode="json")
    default = next((r for r in rows if r["default"] and r["state"] == "complete"), None)
    blocks = [Heading(1, f"Tuning {config.model} on {config.dataset.short_name}"),
              Paragraph(["Optuna TPE (seed ", code(config.seed), "), median pruning on per-epoch validation macro-F1; "
                         "every trial trained on the training split and was scored on the ", bold("validation"),
                         " split only. The test split was read once, by the final run of the best configuration."]),
              Bullets([f"{sum(r['state'] == s for r in rows)} {s}" for s in ("complete", "pruned", "fail")
                       if any(r["state"] == s for r in rows)] +
                      [["best trial ", code(best.number), f": validation macro-F1 {best.value:.4f} with ",
                        code(", ".join(f"{k}={v}" for k, v in best.params.items()))]] +
                      ([f"the default configuration (trial {default['trial']}): validation macro-F1 "
                        f"{default['val_macro_f1']:.4f}"] if default else []) +
                      [f"the best configuration as a run (best/): validation macro-F1 "
                       f"{run['splits']['validation']['macro']['f1']:.4f}, test accuracy "
                       f"{run['splits']['test']['accuracy']:.4f}, test macro-F1 {run['splits']['test']['macro']['f1']:.4f}"]),
              Heading(2, "Trials"),
              Table(["trial", "state", "validation macro-F1", "epochs", "seconds", *space],
                    [[str(r["trial"]) + (" (default)" if r["default"] else ""), r["state"],
                      f"{r['val_macro_f1']:.4f}" if r["val_macro_f1"] is not None else "",
                      str(r["epochs"] or ""), f"{r['seconds']:.0f}" if r["seconds"] else "",
                      *[_short(r["params"].get(n)) for n in space]] for r in rows])]
    if importance:
        blocks.append(Figure(importance, "Parameter importance (fANOVA over the completed trials)."))
    write_summary(folder, render_markdown(blocks, folder), best.params)


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _importance_plot(optuna, study, path: Path) -> Path | None:
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    varying = {k for k in study.best_trial.params if len({str(t.params.get(k)) for t in complete}) > 1}
    if len(complete) < 2 or not varying or len({t.value for t in complete}) < 2:
        return None  # nothing to attribute: fANOVA needs varying parameters and scores
    importances = optuna.importance.get_param_importances(study, params=sorted(varying),
                                                          evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(importances)[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(names) + 1.2))
    ax.barh(names, [importances[n] for n in names], color="#4c72b0")
    ax.set_xlabel("importance for validation macro-F1")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


"""Where a tuning's Optuna study lives: its own SQLite file (``study.db``) or a shared RDB storage several tune
processes work on. The storage URL is checked before any work (a database Optuna can share, a driver installed, a
connection made), a shared study records what it tunes and refuses a process asking for anything else, and each
process marks the trials it runs (``OWNER_KEY``) so its folder's ledger answers for its own only."""
from __future__ import annotations

import json
import time
from pathlib import Path

from ..data import Corpus
from ..errors import EmobenchError, RecordError, option
from ..files import check_outside_records
from ..logs import logger as log
from ..records.run import gold_names, split_digest
from ..records.tuning import STUDY_DB

STUDY = "emobench"  # the study's name in a folder's own study.db
SHARED_KEY, OWNER_KEY = "emobench", "emobench_folder"


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


def open_study(optuna, folder: Path, seed: int, url: str | None = None, name: str | None = None):
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


def join(study, asked: dict, name: str, storage: str, corpus: Corpus) -> None:
    """A shared study records what it tunes when it is created; a process asking for anything else is refused. The
    data is compared by what the trials see -- the labels and a digest of every training and validation text and label,
    in order, after any budget or cleaning -- so a process reading the same files from another path joins, and one with
    other data, labels, a budget or cleaning does not."""
    wanted = {k: asked[k] for k in ("model", "seed", "preset", "overrides", "space")}
    wanted["labels"] = list(corpus.label_names)
    wanted["data"] = {split: split_digest(corpus[split].texts, gold_names(corpus[split], corpus.label_names))
                      for split in ("train", "validation")}
    wanted = json.loads(json.dumps(wanted))
    recorded = study.user_attrs.get(SHARED_KEY)
    if recorded is None:
        study.set_user_attr(SHARED_KEY, wanted)
        return
    changed = sorted(k for k in set(wanted) | set(recorded) if recorded.get(k) != wanted.get(k))
    if changed:
        said = {"data": "the training or validation texts or labels", "labels": "the labels"}
        raise EmobenchError(f"study {name!r} in {shown_url(storage)} tunes another configuration "
                            f"({', '.join(said.get(k, k) for k in changed)} differ); join it with the same model, data, "
                            f"seed, fixed parameters and space, or choose another {option('name')}")


def own_trials(study, folder: Path) -> set[int]:
    """The trials of a shared study that this folder's process ran (marked when they started)."""
    owner = str(folder.resolve())
    return {t.number for t in study.trials if t.user_attrs.get(OWNER_KEY) == owner}

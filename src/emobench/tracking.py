"""Experiment tracking through Accelerate's tracker classes (MLflow, TensorBoard).

A :class:`Tracker` follows one run: the resolved configuration as parameters, per-epoch metrics, the final
validation and test metrics, and the run directory (MLflow: as artifacts; TensorBoard: its path and the
metrics as text). Without ``MLFLOW_TRACKING_URI`` MLflow writes to a local SQLite store
``<folder>/mlflow.db`` with artifacts in ``<folder>/mlartifacts`` (MLflow 3 keeps the plain file store in
maintenance mode); TensorBoard writes event files under ``<folder>/tensorboard/<run>``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import EmobenchError, option

KINDS = ("mlflow", "tensorboard")
_NEEDS = {"mlflow": "mlflow", "tensorboard": "tensorboard"}


def check_available(kinds: list[str]) -> list[str]:
    """Validate ``--track`` values before any work: known names, libraries installed."""
    import importlib.util

    out = []
    for kind in kinds:
        kind = kind.strip().lower()
        if kind not in KINDS:
            raise EmobenchError(f"{option('track')} {kind!r}: expected one of {', '.join(KINDS)}")
        if importlib.util.find_spec(_NEEDS[kind]) is None:
            raise EmobenchError(f"{option('track')} {kind}: the {_NEEDS[kind]} package is not installed (pip install 'emobench[track]')")
        if kind == "mlflow":
            check_mlflow_target(os.environ.get("MLFLOW_TRACKING_URI"))
        if kind not in out:
            out.append(kind)
    return out


MLFLOW_SCHEMES = ("http", "https", "file", "sqlite", "postgresql", "mysql", "mssql", "databricks")
TRACKING_TIMEOUT = 10.0


def check_mlflow_target(uri: str | None, timeout: float = TRACKING_TIMEOUT) -> None:
    """MLFLOW_TRACKING_URI checked before anything is trained: a scheme MLflow knows, and a server that answers
    within ``timeout`` seconds (MLflow itself retries for minutes, then fails after the run was claimed)."""
    if not uri:
        return  # a local SQLite store under the output folder
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else "file"
    if scheme not in MLFLOW_SCHEMES:
        raise EmobenchError(f"MLFLOW_TRACKING_URI {uri!r}: unknown scheme {scheme!r}; expected one of "
                            f"{', '.join(MLFLOW_SCHEMES)} (or a folder)")
    if scheme in ("http", "https"):
        import urllib.error
        import urllib.request

        probe = uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(probe, timeout=timeout) as response:  # noqa: S310 - the user's own server
                response.read(64)
        except urllib.error.HTTPError:
            return  # it answers (an older server without /health still serves the API)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise EmobenchError(f"MLFLOW_TRACKING_URI {uri}: the tracking server does not answer within {timeout:.0f} s "
                                f"({reason}); start it, or unset the variable to track into the output folder") from None


def flatten(values: dict, prefix: str = "") -> dict:
    """Nested configuration as flat ``a.b.c`` parameters (lists and None as text)."""
    out = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, bool | int | float | str):
            out[name] = value
        else:
            out[name] = json.dumps(value, default=str)
    return out


def numbers(metrics: dict, prefix: str = "") -> dict[str, float]:
    """The numeric leaves of a metrics dict (confusion matrices and lists left out)."""
    out = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            out.update(numbers(value, f"{prefix}{key}."))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int | float) and value == value:
            out[f"{prefix}{key}"] = float(value)
    return out


class Tracker:
    """Sends one run to each chosen tracker; every method is a no-op without trackers."""

    def __init__(self, kinds: list[str], folder: str | Path, experiment: str, run_name: str | None = None):
        self.kinds, self.folder, self.experiment, self.run_name = list(kinds), Path(folder), experiment, run_name
        self.trackers = []
        self.step = 0
        self._previous_uri = None

    def start(self, config: dict) -> "Tracker":
        if not self.kinds:
            return self
        from .logs import debugging, quiet_libraries

        if not debugging():  # MLflow sets its own logger up at import (INFO lines on creating its database)
            os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
        from accelerate.tracking import MLflowTracker, TensorBoardTracker

        quiet_libraries()
        self.folder.mkdir(parents=True, exist_ok=True)
        for kind in self.kinds:
            if kind == "mlflow":
                if not os.environ.get("MLFLOW_TRACKING_URI"):  # for this run only; restored by close()
                    self._previous_uri = ""
                    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{(self.folder / 'mlflow.db').resolve()}"
                tracker = MLflowTracker(experiment_name=self.experiment, logging_dir=str((self.folder / "mlartifacts").resolve()),
                                        run_name=self.run_name)
            else:
                tracker = TensorBoardTracker(self.run_name, str(self.folder / "tensorboard"))
            try:
                tracker.start()
                tracker.store_init_configuration(flatten(config))
            except Exception as exc:  # MLflow's and TensorBoard's own errors: a clear one, and the run is released
                raise EmobenchError(f"{option('track')} {kind}: the tracker cannot start ({str(exc).splitlines()[0][:300]})") from None
            self.trackers.append(tracker)
        return self

    def epoch(self, record) -> None:
        """``record``: an epoch's record (records/run.py's EpochRecord) or a plain dict; both iterate as key, value."""
        record = dict(record)
        self.step = int(record.get("epoch", self.step + 1))
        values = {k: float(v) for k, v in record.items() if k != "epoch" and isinstance(v, int | float) and not isinstance(v, bool)}
        for tracker in self.trackers:
            tracker.log(values, step=self.step)

    def finish(self, run_dir: str | Path | None, metrics: dict, artifacts: list[Path] = ()) -> None:
        """Final metrics, then the run directory and any other files (e.g. a report) as artifacts."""
        values = numbers(metrics)
        for tracker in self.trackers:
            tracker.log(values, step=self.step + 1)
            if tracker.name == "mlflow":
                if run_dir is not None:
                    tracker.log_artifacts(str(run_dir), artifact_path="run")
                for path in artifacts:
                    tracker.log_artifact(str(path))
            else:
                writer = tracker.writer
                if run_dir is not None:
                    writer.add_text("run_directory", str(Path(run_dir).resolve()), global_step=self.step + 1)
                for path in artifacts:
                    if Path(path).suffix in (".md", ".txt", ".json", ".csv"):
                        writer.add_text(Path(path).name, Path(path).read_text(encoding="utf-8")[:100_000],
                                        global_step=self.step + 1)
                writer.flush()

    def close(self) -> None:
        for tracker in self.trackers:
            tracker.finish()
        self.trackers = []
        if self._previous_uri is not None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
            self._previous_uri = None


def tracker_for(kinds, folder: str | Path, workflow: str, run_name: str) -> Tracker | None:
    """The tracker of one run of a workflow folder (a comparison, a tuning): under ``<folder>/tracking``, in the
    experiment ``emobench-<workflow>-<folder name>``; None without ``--track``."""
    if not kinds:
        return None
    folder = Path(folder)
    return Tracker(list(kinds), folder / "tracking", experiment=f"emobench-{workflow}-{folder.name}", run_name=run_name)

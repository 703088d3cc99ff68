"""A study's execution: one executor walks the plan's decisions (reuse, resume, retrain, train) and hands every run
to train to an engine. Both engines have one interface -- ``submit`` a run, then ``gather`` the finished records --
so the local engine (trains each run as it is submitted, in this process) and the Ray engine (each run a Ray task,
read back from its folder) differ only in where a run trains."""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Callable, Protocol

from ..errors import EmobenchError
from ..records.run import RunRecord
from ..tracking import tracker_for
from .run import PARTIAL, RunConfig, train
from .study_plan import Decision, PlannedRun


class Engine(Protocol):
    def submit(self, plan: PlannedRun, resume: Path | None) -> None:
        """Train the planned run, or resume the unfinished run at ``resume``."""

    def gather(self) -> dict[str, RunRecord]:
        """Every submitted run, finished, by its name."""


def execute(folder: Path, decisions: list[Decision], engine: Engine, log) -> list[RunRecord]:
    """Every planned run reused, resumed or trained (again), in the plan's order."""
    results: dict[str, RunRecord] = {}
    for decision in decisions:
        plan = decision.plan
        if decision.action == "reuse":
            log(f"{plan.name}: finished earlier, reused")
            results[plan.name] = decision.existing
            continue
        final = folder / "runs" / plan.name
        partial = final.with_name(plan.name + PARTIAL)
        if decision.action == "retrain":
            log(f"{plan.name}: configuration or data changed ({'; '.join(decision.changes[:3])}); retraining")
            shutil.rmtree(final, ignore_errors=True)
            shutil.rmtree(partial, ignore_errors=True)
        engine.submit(plan, partial if decision.action == "resume" else None)
    results.update(engine.gather())
    return [results[d.plan.name] for d in decisions]


class LocalEngine:
    """Each run trained in this process when it is submitted, on the data the driver read (``data_for``)."""

    def __init__(self, folder: Path, data_for: Callable, progress: bool, log, track=()):
        self.folder, self.data_for, self.progress, self.log, self.track = folder, data_for, progress, log, track
        self.done: dict[str, RunRecord] = {}

    def submit(self, plan: PlannedRun, resume: Path | None) -> None:
        tracker = tracker_for(self.track, self.folder, "compare", plan.name)
        corpus = self.data_for(plan)
        if resume is not None:
            self.log(f"{plan.name}: resuming the unfinished run")
            self.done[plan.name] = train(resume=resume, progress=self.progress, corpus=corpus, tracker=tracker)
        else:
            self.log(f"{plan.name}: training")
            self.done[plan.name] = train(plan.run, progress=self.progress, corpus=corpus, tracker=tracker)

    def gather(self) -> dict[str, RunRecord]:
        return self.done


def _ray_task(run: RunConfig | None, resume: str | None, threads: int | None) -> str:
    """A run on a Ray worker: the data read there (the same files and budget give the same rows), the driver's
    threads (the same seed and threads give the local engine's metrics), the same run folder, lock and checks."""
    from ..environment import set_thread_count

    if threads:
        set_thread_count(threads)
    record = train(resume=resume, progress=False) if resume else train(run, progress=False)
    return str(record.folder)


class RayEngine:
    """Each run a Ray task (a GPU for families that use one, when the cluster has GPUs); finished runs are read back
    from their folders."""

    def __init__(self, folder: Path, address: str | None, log):
        from ..cluster import connect
        from ..environment import thread_count

        self.folder, self.log = folder, log
        self.threads = thread_count()
        self.ray = connect(address, None)
        self.gpus = self.ray.cluster_resources().get("GPU", 0) > 0
        self.task = self.ray.remote(_ray_task)
        self.pending: dict = {}

    def submit(self, plan: PlannedRun, resume: Path | None) -> None:
        gpu = self.gpus and plan.spec.uses_gpu
        cpus = min(self.threads, int(self.ray.cluster_resources().get("CPU", self.threads)))
        options = {"num_cpus": 0 if gpu else cpus, "num_gpus": 1 if gpu else 0}
        run = dataclasses.replace(plan.run, dataset=plan.run.dataset.resolved(),
                                  output_dir=str((self.folder / "runs").resolve()))
        self.log(f"{plan.name}: {'resuming' if resume is not None else 'training'} as a Ray task")
        ref = self.task.options(**options).remote(None if resume is not None else run,
                                                  str(resume.resolve()) if resume is not None else None, self.threads)
        self.pending[ref] = plan.name

    def gather(self) -> dict[str, RunRecord]:
        from ..cluster import ClusterWatch

        ray, pending, results = self.ray, self.pending, {}
        watch = ClusterWatch(ray, f"{len(pending)} run(s) of the comparison {self.folder.name}",
                             "the runs that finished are kept; run the same command again to reuse them and train the rest")
        while pending:
            ready = watch.wait(list(pending))
            name = pending.pop(ready)
            try:
                path = ray.get(ready)
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if isinstance(getattr(exc, "cause", None), EmobenchError) else None
                for ref in pending:
                    ray.cancel(ref)
                raise (cause or EmobenchError(f"{name}: the Ray task failed ({str(exc).splitlines()[0]})")) from None
            self.log(f"{name}: finished on Ray")
            results[name] = RunRecord.load(path)
        return results

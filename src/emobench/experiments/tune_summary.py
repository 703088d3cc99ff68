"""A tuning's outputs: ``trials.json`` (one row per trial this folder ran), the parameter importance figure and the
Markdown summary with the best parameters (:func:`emobench.records.tuning.write_summary`)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..records.run import RunRecord
from ..records.tuning import IMPORTANCE, write_summary, write_trials
from .tune_trials import SURPLUS

if TYPE_CHECKING:
    from .tune import TuneConfig


def summarise(optuna, study, folder: Path, config: TuneConfig, space: dict, allow_modified: bool = False) -> None:
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
    splits = RunRecord.load(folder / "best", allow_modified, check_predictions=False).metrics.splits
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
                       f"{splits['validation'].macro.f1:.4f}, test accuracy "
                       f"{splits['test'].accuracy:.4f}, test macro-F1 {splits['test'].macro.f1:.4f}"]),
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

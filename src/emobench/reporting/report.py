"""The comparison report: renders a :class:`~emobench.evaluation.analysis.Comparison` (and transfer results)
as one list of blocks, written as Markdown, self-contained HTML and LaTeX tables. Nothing is computed
here beyond formatting; the numbers come from evaluation/. The sections live beside it: the scores
(``score_sections``), the baselines, the mistakes (``error_sections``) and what goes beyond one test split
(``study_sections``)."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..data.budgets import NONE as NO_LABELS
from ..data.references import PublishedResults
from ..evaluation.analysis import BudgetAnalysis, Comparison, NoiseAnalysis, TransferResult
from ..records.run import DataRecord
from . import plots
from .baseline_sections import baseline_blocks, constant_sentence
from .cells import plural
from .error_sections import error_blocks, noise_blocks
from .render import Bullets, Figure, Heading, Paragraph, bold, code, write_documents
from .score_sections import calibration_blocks, ensemble_blocks, overall_table, per_class_table, test_blocks
from .summary_sections import summary_blocks
from .study_sections import (ZERO_SHOT, budget_blocks, budget_name, reference_blocks, skipped_blocks,
                             transfer_blocks)


def build_report(comparison: Comparison, outcomes: list, data: DataRecord, folder: Path, formats=("md", "html"),
                 transfer: list[TransferResult] | None = None, explanations: dict | None = None,
                 reference: PublishedResults | None = None, budgets: BudgetAnalysis | None = None, main_budget: str = "all",
                 noise: NoiseAnalysis | None = None, skipped: list | None = None,
                 noise_note: str = "the test split was not audited: --no-noise-audit, cleanlab not installed, or too "
                                   "few texts for its folds") -> dict:
    """Writes the documents and figures; returns their paths and the facts behind them (JSON-ready, for the
    comparison's statistics). ``outcomes``: the compared runs (RunOutcome); ``data``: the data record of their
    dataset; ``reference``: the published results to set beside ours (the dataset registry's entry names them);
    ``skipped``: the models not trained at a budget (records.comparison.SkippedRun); ``noise_note``: why there is no
    label-noise estimate, when there is none."""
    folder = Path(folder)
    figures = folder / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    c = comparison
    blocks = _opening_blocks(c, outcomes, data, budgets, main_budget)
    blocks[2:2] = summary_blocks(c, noise, data.warnings + data.audit_warnings, noise_note)  # the answer first
    blocks += skipped_blocks(skipped or [])
    blocks += _analysis_blocks(c, figures, transfer, explanations, budgets, noise)
    blocks += _figure_blocks(c, figures)
    if reference is not None:
        blocks.extend(reference_blocks(c, reference))
    blocks += _closing_blocks(c, outcomes, data)
    written = write_documents(blocks, folder, formats)
    return {"files": written, "facts": statistics_facts(c, transfer, budgets, noise, explanations)}


def statistics_facts(c: Comparison, transfer: list[TransferResult] | None, budgets: BudgetAnalysis | None,
                     noise: NoiseAnalysis | None, explanations: dict | None) -> dict:
    """The analysis the report renders, as statistics.json holds it (JSON-ready; the models' histories left out)."""
    facts = {"comparison": asdict(c), "transfer": [asdict(t) for t in transfer] if transfer else None,
             "budgets": asdict(budgets) if budgets is not None else None,
             "label_noise": asdict(noise) if noise is not None else None,
             "explanations": {name: [{**item, "explanation": asdict(item["explanation"])} for item in items]
                              for name, items in (explanations or {}).items()}}
    for model in facts["comparison"]["models"]:
        model.pop("history", None)
    return json.loads(json.dumps(facts, default=float))


def _opening_blocks(c: Comparison, outcomes: list, data: DataRecord, budgets: BudgetAnalysis | None, main_budget: str) -> list:
    blocks: list = [Heading(1, f"emobench comparison: {c.dataset}")]
    task_note = " Multi-label data: a text may carry several labels; models decide with thresholds tuned on " \
                "validation." if c.task == "multi_label" else ""
    budget_note = "" if budgets is None else (
        f" The tables below are for the largest data budget ({budget_name(main_budget)}); the section \"Data budgets\" "
        "compares every budget.")
    if budgets is None and main_budget != "all":  # one budget only: said here, as no budget section follows
        texts = sorted({int(o.train_texts) for o in outcomes if not o.baseline})
        budget_note = (f" Every model was trained on a data budget: {budget_name(main_budget)} "
                       f"({' to '.join(map(str, dict.fromkeys([texts[0], texts[-1]])))} training texts), not the whole "
                       "training split." if texts else f" Every model was trained on a data budget: "
                       f"{budget_name(main_budget)}, not the whole training split.")
    if budgets is None and main_budget == NO_LABELS:
        budget_note = (f" Every model was trained on no labelled texts ({ZERO_SHOT}, a data budget of 0): these scores "
                       "used no training label.")
    blocks.append(Paragraph(["Every number is on the ", bold("test split"), f" ({c.n_test} examples) of ",
                             code(c.dataset), f"; {_split_note(data)} Models were chosen on validation only. "
                             f"Seeds: {', '.join(map(str, c.seeds))}.{task_note}{budget_note}"]))
    blocks.append(Paragraph(_tuned_where(c.task)))

    blocks.append(Heading(2, "Per-class precision, recall and F1"))
    blocks.append(per_class_table(c))
    blocks.append(Heading(2, "Overall scores"))
    blocks.append(overall_table(c))
    if c.best_constant is not None and not c.against_baseline:  # else shown beside the majority baseline
        blocks.append(Paragraph(constant_sentence(c)))
    blocks += _model_notes(outcomes)
    return blocks


def _tuned_where(task: str) -> str:
    on_validation = ["each model's kept epoch", "its temperature (calibration)"]
    if task == "multi_label":
        on_validation.append("its decision thresholds (per label or one for every label, as each model records it)")
    on_validation.append("the hyper-parameters a tuning (emobench tune) searched")
    return (f"What was tuned where: on the validation split, {', '.join(on_validation[:-1])} and {on_validation[-1]}; "
            "from the training split, class weights (label frequencies) and a stack's combiner (its members' "
            "out-of-fold scores); the test split is only scored.")


def _model_notes(outcomes: list) -> list:
    """What a model is made of, as its family says it (a stack: its members' out-of-fold scores, and the members a time
    limit left out), once per model and seed."""
    from ..models.registry import family_class, family_of

    lines = []
    for o in outcomes:
        if o.baseline:
            continue
        try:
            said = family_class(family_of(o.model)).describe(o.model_info or {})
        except Exception:  # a model name this version does not know: nothing to add
            said = []
        if said:
            lines.append([code(o.name), f" seed {o.seed}: " + "; ".join(said)])
    return [Heading(3, "What the models are made of"), Bullets(lines)] if lines else []


def _analysis_blocks(c: Comparison, figures: Path, transfer: list[TransferResult] | None, explanations: dict | None,
                     budgets: BudgetAnalysis | None, noise: NoiseAnalysis | None) -> list:
    blocks: list = [Heading(2, "Are the differences real?")]
    if c.tests:
        blocks += test_blocks(c)
    else:
        blocks.append(Paragraph("Only one model: nothing to test."))

    if c.against_baseline:
        blocks += baseline_blocks(c)
    if budgets is not None:
        blocks += budget_blocks(budgets, figures)
    if c.ensembles:
        blocks += ensemble_blocks(c)
    if transfer:
        blocks += transfer_blocks(transfer, set(c.baselines))
    if c.calibration:
        blocks += calibration_blocks(c, figures)
    if c.errors:
        blocks += error_blocks(c, explanations or {})
    if noise is not None:
        blocks += noise_blocks(noise)
    return blocks


def _figure_blocks(c: Comparison, figures: Path) -> list:
    names = [m.name for m in c.models]
    blocks: list = [Heading(2, "Figures")]
    f1 = np.array([[m.per_class[label]["f1"] for label in c.labels] for m in c.models])
    blocks.append(Figure(plots.per_class_f1(names, c.labels, f1, figures / "per_class_f1.png"), "F1 per class on the test split."))
    if c.task == "single_label":
        blocks.append(Figure(plots.confusion_matrices([(m.name, m.confusion) for m in c.models], c.labels,
                                                      figures / "confusion_matrices.png"),
                             "Confusion matrices on the test split, each row normalised to 1 (rows: true label)."))
    curves = plots.learning_curves({m.name: m.history for m in c.models}, figures / "learning_curves.png")
    if curves:
        blocks.append(Figure(curves, "Learning curves of the models trained in epochs."))
    return blocks


def _closing_blocks(c: Comparison, outcomes: list, data: DataRecord) -> list:
    blocks: list = [Heading(2, "Data")]
    warnings = data.warnings + data.audit_warnings
    blocks.append(Bullets(warnings or ["The audit found no duplicates, conflicting labels, leakage or placeholders."]))
    blocks.append(Heading(2, "Runs"))
    blocks.append(Bullets([[code(o.name), f" seed {o.seed}: ", code(o.run_dir)] for o in outcomes]))
    return blocks


def _split_note(data: DataRecord) -> str:
    split, mapped, files = data.source.split, data.source.label_map, data.source.files
    note = ""
    if mapped is not None:
        dropped = sum(mapped.dropped.values())
        note = f" Labels mapped by {mapped.name}" + (f" (dropped {dropped} texts)" if dropped else "") + "."
    if split is not None:
        return (f"the split is emobench's stratified split (seed {split.seed}, fractions {split.fractions}), "
                "recorded line by line in each run's data.json." + note)
    return (f"the split is the dataset's own ({plural(len(files), 'file')}, sha256 recorded in each run's data.json)."
            + note)

"""The comparison report: one list of blocks rendered to Markdown, self-contained HTML and LaTeX tables."""
from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np

from ..evaluation.statistics import bootstrap_ci, holm, mcnemar, mean_std
from ..fileio import write_json
from . import plots
from .reference import ISEAR_PAPER
from .render import Bullets, Figure, Heading, Paragraph, Table, bold, code, write_documents

ALPHA = 0.05


def _best_cells(values: list[list[float | None]], start_col: int) -> set[tuple[int, int]]:
    """(row, column) of the best value in each column; ties are all bold."""
    cells = set()
    if not values:
        return cells
    for j in range(len(values[0])):
        column = [row[j] for row in values if row[j] is not None]
        if not column:
            continue
        best = max(column)
        for i, row in enumerate(values):
            if row[j] is not None and round(row[j], 4) == round(best, 4):
                cells.add((i, j + start_col))
    return cells


def _group_by_model(runs: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for run in runs:
        grouped.setdefault(run["model"], []).append(run)
    return grouped


def build_report(runs: list[dict], folder: Path, formats=("md", "html")) -> dict:
    folder = Path(folder)
    figures = folder / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    labels = runs[0]["labels"]
    models = _group_by_model(runs)
    names = list(models)
    first = {name: min(rs, key=lambda r: r["seed"]) for name, rs in models.items()}
    seeds = sorted({r["seed"] for r in runs})
    data = runs[0]["data"] or {}
    n_test = runs[0]["metrics"]["splits"]["test"]["n"]
    blocks: list = []
    facts: dict = {"models": names, "labels": labels, "seeds": seeds, "n_test": n_test}

    blocks.append(Heading(1, f"emobench comparison: {data.get('dataset', '?')}"))
    split_note = _split_note(data)
    blocks.append(Paragraph(["Every number is on the ", bold("test split"), f" ({n_test} examples) of ",
                             code(data.get("dataset")), f"; {split_note} Models were chosen on validation only. "
                             f"Seeds: {', '.join(map(str, seeds))}."]))

    # 1. The seed study's table: per class P / R / F1, best of each column in bold.
    header = ["model"] + [f"{label} {m}" for label in labels for m in ("P", "R", "F1")]
    values = []
    for name in names:
        row = []
        for label in labels:
            for key in ("precision", "recall", "f1"):
                row.append(float(np.mean([r["metrics"]["splits"]["test"]["per_class"][label][key] for r in models[name]])))
        values.append(row)
    rows = [[name] + [f"{v:.2f}" for v in row] for name, row in zip(names, values)]
    caption = "Precision / recall / F1 per class on the test split" + (" (mean over seeds)" if len(seeds) > 1 else "") + \
              "; the best value of each column in bold."
    blocks.append(Heading(2, "Per-class precision, recall and F1"))
    blocks.append(Table(header, rows, _best_cells(values, 1), groups=[("", 1)] + [(l, 3) for l in labels], caption=caption))

    # 2. Overall scores with bootstrap intervals (and spread over seeds).
    blocks.append(Heading(2, "Accuracy, macro-F1 and weighted-F1"))
    header = ["model", "accuracy [95% CI]", "macro-F1 [95% CI]", "weighted-F1 [95% CI]"]
    if len(seeds) > 1:
        header += ["accuracy mean ± sd", "macro-F1 mean ± sd"]
    header += ["train s", "eval examples/s", "parameters"]
    rows, values, overall = [], [], {}
    for name in names:
        r0 = first[name]
        cells, numbers = [name], []
        overall[name] = {}
        for metric in ("accuracy", "macro_f1", "weighted_f1"):
            point, low, high = bootstrap_ci(r0["y_true"], r0["y_pred"], metric, n_boot=1000, seed=0)
            overall[name][metric] = {"value": point, "ci": [low, high]}
            cells.append(f"{point:.4f} [{low:.3f}, {high:.3f}]")
            numbers.append(point)
        if len(seeds) > 1:
            for key in ("accuracy", "macro"):
                vals = [r["metrics"]["splits"]["test"][key] if key == "accuracy" else r["metrics"]["splits"]["test"]["macro"]["f1"]
                        for r in models[name]]
                mean, sd = mean_std(vals)
                overall[name][f"{key}_over_seeds"] = {"mean": mean, "sd": sd, "n": len(vals)}
                cells.append(f"{mean:.4f} ± {sd:.4f} (n={len(vals)})")
                numbers.append(mean)
        test = r0["metrics"]["splits"]["test"]
        cells += [f"{np.mean([r['metrics']['train_seconds'] for r in models[name]]):.1f}",
                  f"{test.get('examples_per_second') or 0:.0f}", f"{r0['metrics'].get('parameters') or 0:,}"]
        rows.append(cells)
        values.append(numbers)
    facts["overall"] = overall
    ci_note = "95% percentile bootstrap intervals over test examples (1,000 resamples)" + \
              (f", for seed {seeds[0]}" if len(seeds) > 1 else "") + "."
    blocks.append(Table(header, rows, _best_cells(values, 1), caption=ci_note))

    # 3. Paired significance tests.
    blocks.append(Heading(2, "Are the differences real?"))
    pairs = list(combinations(names, 2))
    tests = []
    if pairs:
        raw = [mcnemar(first[a]["y_true"], first[a]["y_pred"], first[b]["y_pred"]) for a, b in pairs]
        adjusted = holm([t["p_value"] for t in raw])
        for (a, b), t, p_adj in zip(pairs, raw, adjusted):
            tests.append({"a": a, "b": b, "only_a_right": t["b"], "only_b_right": t["c"], "statistic": t["statistic"],
                          "method": t["method"], "p_value": t["p_value"], "p_holm": p_adj, "significant": p_adj < ALPHA})
        sentences = [_sentence(t) for t in sorted(tests, key=lambda t: t["p_holm"])]
        blocks.append(Paragraph(f"McNemar's test on the same {n_test} test examples for every pair of models "
                                f"(seed {seeds[0]}), p-values adjusted for {len(pairs)} comparisons with Holm's method; "
                                f"significant means adjusted p < {ALPHA}."))
        blocks.append(Bullets(sentences))
        rows = [[t["a"], t["b"], str(t["only_a_right"]), str(t["only_b_right"]), t["method"], f"{t['p_value']:.2g}",
                 f"{t['p_holm']:.2g}", "yes" if t["significant"] else "no"] for t in tests]
        blocks.append(Table(["A", "B", "only A right", "only B right", "test", "p", "p (Holm)", "significant"],
                            rows, caption="McNemar's paired test."))
    else:
        blocks.append(Paragraph("Only one model: nothing to test."))
    facts["tests"] = tests

    # 4. Figures.
    blocks.append(Heading(2, "Figures"))
    f1 = np.array([[np.mean([r["metrics"]["splits"]["test"]["per_class"][l]["f1"] for r in models[n]]) for l in labels]
                   for n in names])
    blocks.append(Figure(plots.per_class_f1(names, labels, f1, figures / "per_class_f1.png"), "F1 per class on the test split."))
    blocks.append(Figure(plots.confusion_matrices([(n, first[n]["metrics"]["splits"]["test"]["confusion_matrix"]) for n in names],
                                                  labels, figures / "confusion_matrices.png"),
                         "Confusion matrices on the test split, each row normalised to 1 (rows: true label)."))
    curves = plots.learning_curves({n: first[n]["history"] for n in names}, figures / "learning_curves.png")
    if curves:
        blocks.append(Figure(curves, "Learning curves of the models trained in epochs."))

    # 5. The reference paper (ISEAR).
    if data.get("dataset") == "isear":
        blocks.extend(_isear_paper_blocks(names, first, labels))

    # 6. Data warnings and conclusions.
    blocks.append(Heading(2, "Data"))
    warnings = (data.get("warnings") or []) + (data.get("audit_warnings") or [])
    blocks.append(Bullets(warnings or ["The audit found no duplicates, conflicting labels, leakage or placeholders."]))
    blocks.append(Heading(2, "Conclusions"))
    blocks.append(Bullets(_conclusions(names, overall, tests, n_test)))
    blocks.append(Heading(2, "Runs"))
    blocks.append(Bullets([[code(r["model"]), f" seed {r['seed']}: ", code(r["dir"])] for r in runs]))

    written = write_documents(blocks, folder, formats)
    write_json(folder / "statistics.json", json.loads(json.dumps(facts, default=float)))
    return {"files": written, "facts": facts}


def _split_note(data: dict) -> str:
    source = data.get("source") or {}
    split = source.get("split")
    if split:
        return (f"the split is emobench's stratified split (seed {split['seed']}, fractions {split['fractions']}), "
                "recorded line by line in each run's data.json.")
    files = source.get("files") or {}
    return f"the split is the dataset's own ({len(files)} files, sha256 recorded in each run's data.json)."


def _sentence(t: dict) -> str:
    a, b = t["a"], t["b"]
    counts = f"{t['only_a_right']} examples only {a} gets right, {t['only_b_right']} only {b}"
    if t["significant"]:
        winner, loser = (a, b) if t["only_a_right"] > t["only_b_right"] else (b, a)
        return [bold(f"{winner} beats {loser}"), f", p = {t['p_holm']:.2g} (Holm-adjusted; {counts})."]
    return f"No significant difference between {a} and {b}, p = {t['p_holm']:.2g} (Holm-adjusted; {counts})."


def _conclusions(names, overall, tests, n_test) -> list[str]:
    ranked = sorted(names, key=lambda n: overall[n]["macro_f1"]["value"], reverse=True)
    best = ranked[0]
    lines = [["Best macro-F1: ", bold(best), f" ({overall[best]['macro_f1']['value']:.4f}, accuracy "
              f"{overall[best]['accuracy']['value']:.4f})."]]
    if len(ranked) > 1:
        second = ranked[1]
        test = next(t for t in tests if {t["a"], t["b"]} == {best, second})
        verdict = "a significant difference" if test["significant"] else "not a significant difference"
        lines.append(f"Against the runner-up, {second} (macro-F1 {overall[second]['macro_f1']['value']:.4f}), "
                     f"the gap is {verdict} (McNemar on accuracy, Holm-adjusted p = {test['p_holm']:.2g}).")
    widths = [overall[n]["accuracy"]["ci"][1] - overall[n]["accuracy"]["ci"][0] for n in names]
    lines.append(f"With {n_test} test examples an accuracy is known to about ±{50 * np.mean(widths):.1f} points "
                 "(half the mean 95% interval): smaller gaps are noise.")
    return lines


def _isear_paper_blocks(names, first_runs, labels) -> list[tuple]:
    paper = ISEAR_PAPER["per_class"]
    order = sorted(labels)
    header = ["model", "accuracy"] + [f"{l} {m}" for l in order for m in ("P", "R", "F1")]
    values, rows = [], []
    for name, per_class in paper.items():
        row = [ISEAR_PAPER["accuracy"][name]] + [v for l in order for v in per_class[l]]
        values.append(row)
        rows.append([f"{name} (paper)"] + [f"{v:.2f}" if i else f"{v:.4f}" for i, v in enumerate(row)])
    for name in names:
        test = first_runs[name]["metrics"]["splits"]["test"]
        row = [test["accuracy"]] + [test["per_class"][l][k] for l in order for k in ("precision", "recall", "f1")]
        values.append(row)
        rows.append([f"{name} (ours)"] + [f"{v:.2f}" if i else f"{v:.4f}" for i, v in enumerate(row)])
    return [Heading(2, "Against the reference paper (ISEAR)"),
            Paragraph("The paper's Table 2 (its own split, batch 16, 10 epochs, lr 4e-5) beside ours (emobench's "
                      "stratified split): different test sets, so read the comparison as orientation, not a paired test."),
            Table(header, rows, _best_cells(values, 1), groups=[("", 2)] + [(l, 3) for l in order],
                  caption="Precision / recall / F1 per class; the best value of each column in bold.")]

"""Figures for the report (matplotlib, written as PNG)."""
from __future__ import annotations

import functools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def literal(plot):
    """Labels drawn as written: "$\\foo$" is not mathtext (it crashed the figures) and "cost $5 or $6" not math."""
    @functools.wraps(plot)
    def wrapped(*args, **kwargs):
        with matplotlib.rc_context({"text.parse_math": False}):
            return plot(*args, **kwargs)
    return wrapped


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@literal
def confusion_matrices(items: list[tuple[str, np.ndarray]], labels: list[str], path: Path) -> Path:
    """One row-normalised confusion matrix per model (rows: true label; each row sums to 1)."""
    n = len(items)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.9 * rows), squeeze=False)
    for ax, (name, matrix) in zip(axes.flat, items):
        matrix = np.asarray(matrix, dtype=float)
        norm = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(labels)):
            for j in range(len(labels)):
                ax.text(j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.6 else "black")
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(name, fontsize=10)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    return _save(fig, path)


@literal
def per_class_f1(models: list[str], labels: list[str], f1: np.ndarray, path: Path) -> Path:
    """Grouped bars: F1 of every class for every model (f1 has shape models x labels)."""
    return _save(per_class_f1_figure(models, labels, f1), path)


def per_class_f1_figure(models: list[str], labels: list[str], f1: np.ndarray):
    """The figure itself; its legend sits above the panel, outside it, so that it covers no bar whatever the scores."""
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(labels) + 1), 3.8 + 0.25 * (len(models) // 4)))
    width = 0.8 / len(models)
    x = np.arange(len(labels))
    for k, model in enumerate(models):
        ax.bar(x + (k - (len(models) - 1) / 2) * width, f1[k], width, label=model)
    ax.set_xticks(x, labels, rotation=30 if len(labels) > 8 else 0, ha="right" if len(labels) > 8 else "center")
    ax.set_ylabel("F1 (test)")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    _legend(ax, fontsize=8, ncol=min(4, len(models)), loc="lower center", bbox_to_anchor=(0.5, 1.01), frameon=False)
    return fig


def _legend(ax, **kwargs) -> None:
    """A legend where the panel has labelled lines or bars (an empty one is matplotlib's warning, not a legend)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


@literal
def learning_curves(histories: dict[str, list[dict]], path: Path) -> Path | None:
    """Training loss and validation macro-F1 per epoch, for models trained in epochs."""
    histories = {name: h for name, h in histories.items() if h}
    if not histories:
        return None
    fig, (loss_ax, f1_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
    for i, (name, history) in enumerate(histories.items()):
        colour = f"C{i}"  # one colour per model in both panels
        epochs = [h["epoch"] for h in history]
        loss_ax.plot(epochs, [h["train_loss"] for h in history], marker="o", color=colour, label=f"{name} train")
        if "val_loss" in history[0]:
            loss_ax.plot(epochs, [h["val_loss"] for h in history], marker="x", linestyle="--", color=colour,
                         label=f"{name} validation")
            f1_ax.plot(epochs, [h["val_macro_f1"] for h in history], marker="o", color=colour, label=name)
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("cross-entropy")
    _legend(loss_ax, fontsize=7)
    loss_ax.grid(alpha=0.3)
    if not f1_ax.lines:  # epochs trained without a validation split (a body fine-tuned before its head)
        f1_ax.text(0.5, 0.5, "no validation scores per epoch", ha="center", va="center", transform=f1_ax.transAxes)
    f1_ax.set_xlabel("epoch")
    f1_ax.set_ylabel("validation macro-F1")
    _legend(f1_ax, fontsize=8)
    f1_ax.grid(alpha=0.3)
    return _save(fig, path)


@literal
def reliability_diagrams(items: list[tuple[str, list, list | None]], path: Path, multi_label: bool = False) -> Path:
    """One panel per model: accuracy against confidence per bin, after temperature scaling (bars) and
    before (dashed line); the diagonal is perfect calibration."""
    n = len(items)
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.3 * rows), squeeze=False)
    for ax, (name, after, before) in zip(axes.flat, items):
        centers = [(b.low + b.high) / 2 for b in after]
        width = after[0].high - after[0].low
        ax.bar(centers, [b.accuracy or 0 for b in after], width=width * 0.9, color="#4c72b0", alpha=0.8,
               label="after scaling")
        if before:
            points = [(b.confidence, b.accuracy) for b in before if b.count]
            ax.plot([p[0] for p in points], [p[1] for p in points], "o--", color="#dd8452", markersize=3,
                    label="before scaling")
        ax.plot([0, 1], [0, 1], color="grey", linewidth=1)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("probability of a label" if multi_label else "confidence (top label)", fontsize=8)
        ax.set_ylabel("share present" if multi_label else "accuracy", fontsize=8)
        _legend(ax, fontsize=7, loc="upper left")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    return _save(fig, path)


@literal
def budget_curves(curves: dict[str, list[tuple[float, float, float, float]]], baselines: set[str], path: Path) -> Path:
    """Macro-F1 against labelled training texts (log scale), one line per model with its interval; baselines dashed.
    ``curves``: name -> [(texts, value, low, high)]."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    zero = False
    for i, (name, points) in enumerate(curves.items()):
        points = sorted(points)
        x = [p[0] for p in points]
        y = [p[1] for p in points]
        err = [[p[1] - p[2] for p in points], [p[3] - p[1] for p in points]]
        style = dict(linestyle="--", alpha=0.6) if name in baselines else dict(marker="o")
        ax.errorbar(x, y, yerr=err, label=name, capsize=3, color=colours[i % len(colours)], **style)
        unlabelled = [p for p in points if p[0] == 0]
        if unlabelled:  # a point that used no labelled texts: a star, so it never reads as a small budget
            zero = True
            ax.scatter([0] * len(unlabelled), [p[1] for p in unlabelled], marker="*", s=160, zorder=3,
                       color=colours[i % len(colours)])
    # a log axis has no 0: symlog is linear below 1 text, so the zero-shot point sits at the origin of the curves
    ax.set_xscale("symlog", linthresh=1) if zero else ax.set_xscale("log")
    if zero:
        ax.annotate("0 labelled texts: zero-shot", xy=(0, 0), xycoords=("data", "axes fraction"), xytext=(4, 4),
                    textcoords="offset points", fontsize=7)
    # the log axis labels ticks in mathtext ("10^{2}"), which the figures draw literally (labels may hold "$")
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("labelled training texts")
    ax.set_ylabel("test macro-F1")
    ax.grid(alpha=0.3)
    _legend(ax, fontsize=8, loc="lower right")
    return _save(fig, path)

"""Figures for the report (matplotlib, written as PNG)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


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
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def per_class_f1(models: list[str], labels: list[str], f1: np.ndarray, path: Path) -> Path:
    """Grouped bars: F1 of every class for every model (f1 has shape models x labels)."""
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(labels) + 1), 3.8))
    width = 0.8 / len(models)
    x = np.arange(len(labels))
    for k, model in enumerate(models):
        ax.bar(x + (k - (len(models) - 1) / 2) * width, f1[k], width, label=model)
    ax.set_xticks(x, labels)
    ax.set_ylabel("F1 (test)")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=min(4, len(models)), loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def learning_curves(histories: dict[str, list[dict]], path: Path) -> Path | None:
    """Training loss and validation macro-F1 per epoch, for models trained in epochs."""
    histories = {name: h for name, h in histories.items() if h}
    if not histories:
        return None
    fig, (loss_ax, f1_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, history in histories.items():
        epochs = [h["epoch"] for h in history]
        loss_ax.plot(epochs, [h["train_loss"] for h in history], marker="o", label=f"{name} train")
        if "val_loss" in history[0]:
            loss_ax.plot(epochs, [h["val_loss"] for h in history], marker="x", linestyle="--", label=f"{name} validation")
            f1_ax.plot(epochs, [h["val_macro_f1"] for h in history], marker="o", label=name)
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("cross-entropy")
    loss_ax.legend(fontsize=7)
    loss_ax.grid(alpha=0.3)
    f1_ax.set_xlabel("epoch")
    f1_ax.set_ylabel("validation macro-F1")
    f1_ax.legend(fontsize=8)
    f1_ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

"""Inference throughput on the dair-ai test split, side by side in one run: the same fine-tuned MiniLM through
(a) ``transformers.pipeline("text-classification")``, (b) emobench on PyTorch, (c) ONNX fp32 and (d) ONNX int8,
at batch 1 and batch 64; and tfidf and both LSTMs (PyTorch, and the LSTM also on ONNX fp32 and int8). Accuracy
of each on the whole test split, and batch invariance: the share of texts whose label and probabilities
(within 1e-5) are the same scored alone as inside batches of 64 mixed texts.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/inference.py [--minilm RUN] [--batch1-texts 500]

RUN is a fine-tuned MiniLM run (e.g. ``emobench train --model minilm --preset fast``; without it the MiniLM rows
are left out); the other models are trained into benchmarks/runs/inference/ if missing, and the exports made
there. Every backend gets the machine's cores (torch threads, ONNX Runtime's intra-op threads). Texts per second
are measured after one warm-up batch; batch 1 uses the first ``--batch1-texts`` test texts, batch 64 all of them;
invariance compares the batch-1 texts alone with the same texts scored at batch 64.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from common import print_table, write_results

from emobench.data import load_dataset
from emobench.environment import cpu_budget
from emobench.experiments.run import RunConfig, train
from emobench.serving import Predictor
from emobench.experiments.export import export_run
from emobench.models.onnx import OnnxModel

HERE = Path(__file__).parent / "runs" / "inference"


def ensure_run(model: str) -> Path:
    run = HERE / model
    if not (run / "metrics.json").is_file():
        train(RunConfig(model=model, output_dir=str(HERE), name=model), progress=False)
    return run


def ensure_export(run: Path, name: str) -> Path:
    folder = HERE / f"{name}-onnx"
    if not (folder / "export.json").is_file():
        export_run(run, folder, quantize="int8")
    return folder


class PipelineModel:
    """transformers.pipeline over the same saved model (a standard Hugging Face folder)."""

    def __init__(self, model_dir: Path, max_length: int):
        from transformers import pipeline

        self.pipe = pipeline("text-classification", model=str(model_dir), tokenizer=str(model_dir), device=-1,
                             truncation=True, max_length=max_length)
        self.labels = [self.pipe.model.config.id2label[i] for i in range(self.pipe.model.config.num_labels)]

    def predict(self, texts: list[str], batch_size: int) -> list[str]:
        return [r["label"] for r in self.pipe(texts, batch_size=batch_size)]


def scores_of(setup, texts: list[str], batch_size: int, label_names: list[str]) -> tuple[list[str], np.ndarray | None]:
    """Labels and (except for the pipeline, which returns labels only) probabilities, ``batch_size`` texts a call."""
    if isinstance(setup, PipelineModel):
        return setup.predict(texts, batch_size), None
    out, probs = [], []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        p = setup.model.predict_proba(chunk) if isinstance(setup, Predictor) else setup.predict_proba(chunk)
        out += [label_names[i] for i in p.argmax(axis=1)]
        probs.append(p)
    return out, np.concatenate(probs)


def measure(setup, texts: list[str], batch_size: int, label_names: list[str]):
    scores_of(setup, texts[:batch_size], batch_size, label_names)  # warm-up
    started = time.perf_counter()
    predicted, probs = scores_of(setup, texts, batch_size, label_names)
    return len(texts) / (time.perf_counter() - started), predicted, probs


def invariance(alone: tuple, batched: tuple, n: int) -> tuple[float, float | None]:
    """Share of the first ``n`` texts with the same label (and probabilities within 1e-5) alone and in batches of 64;
    the largest probability difference."""
    labels_a, probs_a = alone
    labels_b, probs_b = batched[0][:n], None if batched[1] is None else batched[1][:n]
    same = np.array([a == b for a, b in zip(labels_a, labels_b)])
    if probs_a is None:
        return float(same.mean()), None
    difference = np.abs(probs_a - probs_b).max(axis=1)
    return float((same & (difference <= 1e-5)).mean()), float(difference.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minilm", help="a fine-tuned MiniLM run directory (without it: no MiniLM rows)")
    parser.add_argument("--batch1-texts", type=int, default=500)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(cpu_budget())
    corpus = load_dataset("emotion")
    test = corpus["test"]
    truth = [corpus.label_names[y] for y in test.labels]
    lstm = ensure_run("lstm")
    lstm_export = ensure_export(lstm, "lstm")
    setups = []
    if args.minilm:
        minilm = Path(args.minilm)
        minilm_export = ensure_export(minilm, "minilm")
        setups += [
            ("minilm: transformers.pipeline", lambda: PipelineModel(minilm / "model", 128)),
            ("minilm: emobench PyTorch", lambda: Predictor(minilm)),
            ("minilm: ONNX fp32", lambda: OnnxModel(minilm_export, "model.onnx")),
            ("minilm: ONNX int8", lambda: OnnxModel(minilm_export, "model.int8.onnx")),
        ]
    setups += [
        ("tfidf (scikit-learn)", lambda: Predictor(ensure_run("tfidf"))),
        ("lstm: PyTorch", lambda: Predictor(lstm)),
        ("lstm: ONNX fp32", lambda: OnnxModel(lstm_export, "model.onnx")),
        ("lstm: ONNX int8", lambda: OnnxModel(lstm_export, "model.int8.onnx")),
        ("lstm-paper: PyTorch", lambda: Predictor(ensure_run("lstm-paper"))),
    ]
    rows = []
    for name, make in setups:
        setup = make()
        row = {"setup": name}
        scored = {}
        for batch_size in (1, 64):
            texts = test.texts[: args.batch1_texts] if batch_size == 1 else test.texts
            speed, predicted, probs = measure(setup, texts, batch_size, corpus.label_names)
            scored[batch_size] = (predicted, probs)
            row[f"texts_per_second_batch{batch_size}"] = speed
            if batch_size == 64:
                row["accuracy"] = float(np.mean([p == t for p, t in zip(predicted, truth)]))
        row["batch_invariant_share"], row["max_probability_difference"] = invariance(scored[1], scored[64], args.batch1_texts)
        rows.append(row)
        print(row, flush=True)
    reference = rows[0] if args.minilm else None
    for row in rows:
        for b in (1, 64):
            row[f"vs_pipeline_batch{b}"] = row[f"texts_per_second_batch{b}"] / reference[f"texts_per_second_batch{b}"] \
                if reference else None
    for kind in ("minilm", "lstm"):  # int8 against fp32 of the same export
        fp32 = next((r for r in rows if r["setup"] == f"{kind}: ONNX fp32"), None)
        int8 = next((r for r in rows if r["setup"] == f"{kind}: ONNX int8"), None)
        if fp32 and int8:
            int8["accuracy_vs_fp32"] = int8["accuracy"] - fp32["accuracy"]
    print_table(f"inference on the dair-ai test split ({len(test)} texts; batch 1 on the first {args.batch1_texts}), "
                f"{cpu_budget()} CPU threads", rows,
                ["setup", "texts_per_second_batch1", "vs_pipeline_batch1", "texts_per_second_batch64", "vs_pipeline_batch64",
                 "accuracy", "accuracy_vs_fp32", "batch_invariant_share", "max_probability_difference"])
    print("results:", write_results("inference", rows, batch1_texts=args.batch1_texts, minilm=args.minilm))


if __name__ == "__main__":
    main()

"""Inference throughput on the dair-ai test split, side by side in one run: the same fine-tuned MiniLM through
(a) ``transformers.pipeline("text-classification")``, (b) emobench on PyTorch, (c) ONNX fp32 and (d) ONNX int8,
at batch 1 and batch 64; and tfidf and both LSTMs (PyTorch, and the LSTM also on ONNX). Accuracy of each on
the whole test split.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/inference.py --minilm RUN [--batch1-texts 500]

RUN is a fine-tuned MiniLM run (e.g. ``emobench train --model minilm --preset fast``); the other models are
trained into benchmarks/runs/inference/ if missing, and the exports made there. Every backend gets the
machine's cores (torch threads, ONNX Runtime's intra-op threads). Texts per second are measured after one
warm-up batch; batch 1 uses the first ``--batch1-texts`` test texts, batch 64 all of them.
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


def labels_of(setup, texts: list[str], batch_size: int, label_names: list[str]) -> list[str]:
    if isinstance(setup, PipelineModel):
        return setup.predict(texts, batch_size)
    out = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        probs = setup.model.predict_proba(chunk) if isinstance(setup, Predictor) else setup.predict_proba(chunk)
        out += [label_names[i] for i in probs.argmax(axis=1)]
    return out


def measure(setup, texts: list[str], batch_size: int, label_names: list[str]) -> tuple[float, list[str]]:
    labels_of(setup, texts[:batch_size], batch_size, label_names)  # warm-up
    started = time.perf_counter()
    predicted = labels_of(setup, texts, batch_size, label_names)
    return len(texts) / (time.perf_counter() - started), predicted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minilm", required=True, help="a fine-tuned MiniLM run directory")
    parser.add_argument("--batch1-texts", type=int, default=500)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(cpu_budget())
    corpus = load_dataset("emotion")
    test = corpus["test"]
    truth = [corpus.label_names[y] for y in test.labels]
    minilm = Path(args.minilm)
    minilm_export = ensure_export(minilm, "minilm")
    lstm = ensure_run("lstm")
    setups = [
        ("minilm: transformers.pipeline", lambda: PipelineModel(minilm / "model", 128)),
        ("minilm: emobench PyTorch", lambda: Predictor(minilm)),
        ("minilm: ONNX fp32", lambda: OnnxModel(minilm_export, "model.onnx")),
        ("minilm: ONNX int8", lambda: OnnxModel(minilm_export, "model.int8.onnx")),
        ("tfidf (scikit-learn)", lambda: Predictor(ensure_run("tfidf"))),
        ("lstm: PyTorch", lambda: Predictor(lstm)),
        ("lstm: ONNX fp32", lambda: OnnxModel(ensure_export(lstm, "lstm"), "model.onnx")),
        ("lstm-paper: PyTorch", lambda: Predictor(ensure_run("lstm-paper"))),
    ]
    rows = []
    for name, make in setups:
        setup = make()
        row = {"setup": name}
        for batch_size in (1, 64):
            texts = test.texts[: args.batch1_texts] if batch_size == 1 else test.texts
            speed, predicted = measure(setup, texts, batch_size, corpus.label_names)
            row[f"texts_per_second_batch{batch_size}"] = speed
            if batch_size == 64:
                row["accuracy"] = float(np.mean([p == t for p, t in zip(predicted, truth)]))
        rows.append(row)
        print(row, flush=True)
    pipeline = rows[0]
    for row in rows:
        for b in (1, 64):
            row[f"vs_pipeline_batch{b}"] = row[f"texts_per_second_batch{b}"] / pipeline[f"texts_per_second_batch{b}"]
    print_table(f"inference on the dair-ai test split ({len(test)} texts; batch 1 on the first {args.batch1_texts}), "
                f"{cpu_budget()} CPU threads", rows,
                ["setup", "texts_per_second_batch1", "vs_pipeline_batch1", "texts_per_second_batch64", "vs_pipeline_batch64",
                 "accuracy"])
    print("results:", write_results("inference", rows, batch1_texts=args.batch1_texts, minilm=str(minilm)))


if __name__ == "__main__":
    main()

"""What int8 gains, per exportable family, side by side in one run: each model exported with ``--quantize int8``
(static QDQ; the LSTMs also quantise their embedding table) and its fp32 and int8 graphs measured on the dair-ai
test split: file size, texts per second at batch 1 and 64 (ONNX Runtime, the machine's cores, after a warm-up), and
test accuracy and macro-F1 of each. The models are trained small (two LSTM epochs; MiniLM as frozen features on 64
texts per class): what int8 does to a graph's size and speed does not depend on how well it was trained.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/int8.py [--batch1-texts 300]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from common import print_table, write_results

from emobench.data import DatasetConfig, load_dataset
from emobench.experiments.export import export_run
from emobench.experiments.run import RunConfig, train
from emobench.models.onnx import OnnxModel

HERE = Path(__file__).parent / "runs" / "int8"
MODELS = {"lstm": ({"epochs": "2"}, None), "lstm-paper": ({"epochs": "2"}, None),
          "minilm-features": ({}, "64")}


def trained(model: str) -> Path:
    overrides, size = MODELS[model]
    run = HERE / model
    if not (run / "metrics.json").is_file():
        train(RunConfig(model=model, dataset=DatasetConfig(name="emotion", train_size=size), overrides=overrides,
                        output_dir=str(HERE), name=model), progress=False)
    return run


def speed(graph: OnnxModel, texts: list[str], batch: int) -> float:
    graph.predict_proba(texts[:batch])  # warm-up
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        graph.predict_proba(texts[start : start + batch])
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch1-texts", type=int, default=300)
    args = parser.parse_args()
    test = load_dataset("emotion")["test"]
    rows = []
    for model in MODELS:
        run = trained(model)
        folder = HERE / f"{model}-onnx"
        if not (folder / "export.json").is_file():
            export_run(run, folder, quantize="int8")
        record = json.loads((folder / "export.json").read_text())
        row = {"family": model, "operators": record["quantization"]["operators"]}
        for kind in ("fp32", "int8"):
            graph = OnnxModel(folder, "model.onnx" if kind == "fp32" else "model.int8.onnx")
            row[f"{kind}_bytes"] = record["files"][kind]
            row[f"{kind}_batch1"] = speed(graph, list(test.texts[: args.batch1_texts]), 1)
            row[f"{kind}_batch64"] = speed(graph, list(test.texts), 64)
            row[f"{kind}_accuracy"] = record["scores"][kind]["accuracy"]
            row[f"{kind}_macro_f1"] = record["scores"][kind]["macro_f1"]
        row["size_ratio"] = row["int8_bytes"] / row["fp32_bytes"]
        row["speedup_batch1"] = row["int8_batch1"] / row["fp32_batch1"]
        row["speedup_batch64"] = row["int8_batch64"] / row["fp32_batch64"]
        row["accuracy_drop"] = row["fp32_accuracy"] - row["int8_accuracy"]
        row["pays_at_export"] = record["quantization"].get("pays")
        rows.append(row)
        print(row, flush=True)
    print_table("int8 against fp32 (ONNX Runtime, dair-ai test split)", rows,
                ["family", "fp32_bytes", "int8_bytes", "size_ratio", "speedup_batch1", "speedup_batch64",
                 "fp32_accuracy", "int8_accuracy", "accuracy_drop", "pays_at_export"])
    print(f"results: {write_results('int8', rows)}")


if __name__ == "__main__":
    main()

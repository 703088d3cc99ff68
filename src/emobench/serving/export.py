"""Export a run's model to ONNX (optionally int8), and check the export on the run's test split.

The graph comes from ``torch.onnx.export`` (TorchScript exporter: the torch.export-based one cannot trace
the LSTM's packed sequences) with dynamic batch and sequence axes; int8 is ONNX Runtime's dynamic
quantization (weights int8, activations quantised on the fly). The export folder holds ``model.onnx``
(and ``model.int8.onnx``), the tokenizer or vocabulary, ``emobench_model.json`` (labels, decision
thresholds, how texts become inputs) and ``export.json`` (the checks). It is built as ``DIR.partial`` and
renamed only when the checks pass (a failed check leaves nothing, and says which):

- fp32: the exported model's labels agree with the PyTorch model's on at least 99.5% of the test texts;
- int8: its accuracy and macro-F1 are at most 0.5 point below the PyTorch model's.
(Multi-label models: agreement means the same label set; accuracy is subset accuracy.)
(optimum-onnx, the Hugging Face exporter, requires transformers < 4.58; emobench runs on transformers 5.)
"""
from __future__ import annotations

import shutil
import time
import warnings
from pathlib import Path


from ..errors import EmobenchError
from ..fileio import check_output_folder, read_json, write_json
from ..models.base import MODEL_FILE, load_model, model_directory, predict_proba_batched
from .onnx_model import EXPORT_FILE, OnnxModel

MIN_AGREEMENT = 0.995
MAX_DROP = 0.005


def export_run(run_dir: str | Path, out: str | Path | None = None, quantize: str | None = None,
               opset: int = 17, check_split: str = "test") -> Path:
    """Export and check; returns the export folder."""
    from ..data import DatasetConfig, load_dataset
    from ..evaluation.metrics import compute_metrics
    from ..runs import load_run, verify_data

    if quantize not in (None, "int8"):
        raise EmobenchError(f"--quantize {quantize!r}: expected int8")
    for name in ("onnx", "onnxruntime"):
        import importlib.util

        if importlib.util.find_spec(name) is None:
            raise EmobenchError(f"exporting needs {name} (pip install 'emobench[serve]')")
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    model = load_model(model_directory(run_dir))
    out = Path(out) if out else run_dir.parent / f"{run_dir.name}-onnx"
    check_output_folder(out.parent, "--output")
    if out.exists():
        raise EmobenchError(f"{out} already exists; choose another --output")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    corpus = load_dataset(DatasetConfig(**run["config"]["dataset"]))
    verify_data(run["data"] or {}, corpus, run_dir)
    data = corpus[check_split]
    partial.mkdir(parents=True)
    try:
        graph = model.onnx_graph(partial)
        started = time.perf_counter()
        _export(graph, partial / "model.onnx", opset)
        files = {"fp32": "model.onnx"}
        if quantize == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(partial / "model.onnx"), str(partial / "model.int8.onnx"), weight_type=QuantType.QInt8)
            files["int8"] = "model.int8.onnx"
        export_seconds = time.perf_counter() - started
        meta = read_json(model_directory(run_dir) / MODEL_FILE, "model description")
        meta["onnx"] = {"file": files.get("int8", "model.onnx"), "files": files, "inputs": graph["inputs"],
                        "preprocess": graph["preprocess"], "opset": opset}
        write_json(partial / MODEL_FILE, meta)

        truth = model.truth(data)
        reference = model.decide(predict_proba_batched(model, data.texts))
        scores = {"pytorch": _scores(compute_metrics(truth, reference, model.label_names))}
        checks = {}
        for kind, file in files.items():
            onnx = OnnxModel(partial, file)
            decided = onnx.predict(data.texts)
            same = (decided == reference).all(axis=1) if model.multi_label else decided == reference
            scores[kind] = _scores(compute_metrics(truth, decided, model.label_names))
            scores[kind]["agreement"] = float(same.mean())
        checks["fp32_agreement"] = {"value": scores["fp32"]["agreement"], "required": MIN_AGREEMENT,
                                    "passed": scores["fp32"]["agreement"] >= MIN_AGREEMENT}
        if "int8" in files:
            for metric in ("accuracy", "macro_f1"):
                drop = scores["pytorch"][metric] - scores["int8"][metric]
                checks[f"int8_{metric}_drop"] = {"value": drop, "allowed": MAX_DROP, "passed": drop <= MAX_DROP}
        record = {"run": str(run_dir.resolve()), "family": model.family, "task": "multi_label" if model.multi_label else
                  "single_label", "check_split": check_split, "examples": len(data), "scores": scores, "checks": checks,
                  "passed": all(c["passed"] for c in checks.values()), "export_seconds": export_seconds,
                  "files": {k: (partial / f).stat().st_size for k, f in files.items()}}
        write_json(partial / EXPORT_FILE, record)
        if not record["passed"]:
            failed = "; ".join(f"{name} {c['value']:.4f} (limit {c.get('required', c.get('allowed'))})"
                               for name, c in checks.items() if not c["passed"])
            raise EmobenchError(f"the export failed its checks on the {check_split} split ({failed}); nothing was "
                                f"written. Scores: {scores}")
        partial.rename(out)
        return out
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _scores(metrics: dict) -> dict:
    out = {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro"]["f1"]}
    if metrics.get("task") == "multi_label":
        out["micro_f1"] = metrics["micro"]["f1"]
    return out


def _export(graph: dict, path: Path, opset: int) -> None:
    import torch

    module = graph["module"].eval()
    example = tuple(graph["example"][name] for name in graph["inputs"])
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation on every call
        torch.onnx.export(module, example, str(path), input_names=graph["inputs"], output_names=["logits"],
                          dynamic_axes={**graph["dynamic_axes"], "logits": {0: "batch"}}, opset_version=opset,
                          dynamo=False)


"""Export a run's model to ONNX (optionally int8), and check the export on the run's test split.

The graph comes from ``torch.onnx.export`` (TorchScript exporter: the torch.export-based one cannot trace
the LSTM's packed sequences) with dynamic batch and sequence axes; int8 is ONNX Runtime's static quantisation
(QDQ, matrix products int8, activation scales calibrated on 300 training texts, or validation texts for a zero-shot
run), so an answer never depends on the other texts of its batch, as it did with dynamic quantisation. The folder
(:mod:`emobench.records.export`) is claimed as ``DIR.partial`` by one process and renamed only when the checks pass (a failed check leaves
nothing, and says which):

- fp32: the exported model's labels agree with the PyTorch model's on at least 99.5% of the test texts (or on all
  but one, on a split too small for half a percent to be a text);
- every graph: each of up to 500 check texts scored alone and inside mixed batches gets the same label and
  probabilities within 1e-5;
- int8: its accuracy and macro-F1 are at most 0.5 point below the PyTorch model's, or at most what one text whose
  prediction changes can move them on this split, whichever is larger (evaluation.metrics.one_text_change: on 48
  texts of six labels, one text moves macro-F1 by up to about 3 points). No check can fail by one text.
(Multi-label models: agreement means the same label set; accuracy is subset accuracy.)
The graphs carry the label names and the sha256 of the tokenizer or vocabulary in their metadata, so a graph
moved into another export is recognised. (optimum-onnx, the Hugging Face exporter, requires transformers
< 4.58; emobench runs on transformers 5.)
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import time
import uuid
import warnings
from pathlib import Path

import numpy as np

from ..claims import claim_folder
from ..data import Split
from ..errors import EmobenchError, EmobenchWarning, option
from ..evaluation.metrics import SplitMetrics
from ..files import check_output_folder, check_outside_records
from ..manifest import sha256_of, write_manifest
from ..models.base import Classifier, OnnxGraph, load_model
from ..records.base import validate
from ..records.export import ExportRecord, open_export
from ..records.model import ModelRecord
from ..records.run import RunRecord, card_metrics
from ..models.onnx import EXPORT_KEY, INPUTS_KEY, LABELS_KEY, OnnxModel

MIN_AGREEMENT = 0.995
MAX_DROP = 0.005
TOLERANCE = ("fp32 labels agree with PyTorch on at least 99.5% of the check texts, or on all but one; int8 accuracy and "
             "macro-F1 fall at most 0.5 point below PyTorch's, or at most what one text changed by the export can move "
             "them on this split (one_text), whichever is larger")
CALIBRATION_TEXTS = 300  # training texts that fix the int8 activation scales
INVARIANCE_TEXTS, MIXED_BATCH, INVARIANCE_TOLERANCE = 500, 64, 1e-5


def export_run(run_dir: str | Path, out: str | Path | None = None, quantize: str | None = None,
               opset: int = 17, check_split: str = "test", allow_modified: bool = False) -> ExportRecord:
    """Export and check; returns the export's record (``os.fspath`` of it is the folder)."""
    from .data_checks import recorded_corpus, verify_data

    if quantize not in (None, "int8"):
        raise EmobenchError(f"{option('quantize')} {quantize!r}: expected int8")
    for name in ("onnx", "onnxruntime"):
        if importlib.util.find_spec(name) is None:
            raise EmobenchError(f"exporting needs {name} (pip install 'emobench[serve]')")
    run_dir = Path(run_dir)
    run = RunRecord.load(run_dir, allow_modified)
    model = load_model(run_dir, allow_modified)
    refusal = model.onnx_refusal()
    if refusal:  # before the data is read and checked
        raise EmobenchError(refusal)
    out = Path(out) if out else run_dir.parent / f"{run_dir.name}-onnx"
    check_output_folder(out.parent, "output")
    check_outside_records(out.parent, "output", out)
    if out.exists():
        raise EmobenchError(f"{out} already exists; choose another {option('output')}")
    corpus = recorded_corpus(run.dataset_config(), run.data, inputs=False)
    verify_data(run.data, corpus, run_dir)
    data = corpus[check_split]
    calibration_texts = _calibration_texts(corpus, run_dir) if quantize == "int8" else None
    partial = out.with_name(out.name + ".partial")
    lock = claim_folder(partial, "export")
    try:
        files, described, calibration, export_seconds = _write_graphs(model, partial, opset, quantize,
                                                                      calibration_texts)
        scores, checks = _checked(model, data, partial, files, check_split)
        record = {"format": 3, "run": str(run_dir.resolve()), "family": model.family, "task": described.task,
                  "check_split": check_split, "examples": len(data), "scores": scores, "checks": checks,
                  "passed": True, "export_seconds": export_seconds,
                  "files": {k: (partial / f).stat().st_size for k, f in files.items()},
                  "source": {"model": run.config.model, "dataset": run.data.dataset, "run_name": run.name,
                             "test_metrics": card_metrics(run.metrics.splits.get("test"))},
                  "quantization": calibration, "tolerance": TOLERANCE}
        validate(ExportRecord, record, "the export record").write(partial)
        write_manifest(partial)
        if out.exists():
            raise EmobenchError(f"{out} appeared while exporting; choose another {option('output')}")
        partial.rename(out)
        lock.release(out)
        return _finished(out)
    finally:
        if partial.exists() and lock.held:
            shutil.rmtree(partial, ignore_errors=True)


def _write_graphs(model: Classifier, partial: Path, opset: int, quantize: str | None,
                  calibration_texts: tuple[list[str], str] | None
                  ) -> tuple[dict[str, str], ModelRecord, dict | None, float]:
    """The fp32 graph (and the int8 one), each stamped with what it was exported with, and the description beside
    them; returns the graphs' files, the description, how the int8 graph was made and the seconds it all took."""
    graph = model.onnx_graph(partial)
    started = time.perf_counter()
    files = {"fp32": "model.onnx"}
    _export(graph, partial / files["fp32"], opset)
    digests, export_id = {graph.source: sha256_of(partial / graph.source)}, uuid.uuid4().hex
    stamp = {LABELS_KEY: json.dumps(model.label_names, ensure_ascii=False), INPUTS_KEY: digests[graph.source],
             EXPORT_KEY: export_id}
    _stamp(partial / files["fp32"], stamp)
    described = _describe(model, graph, partial, files, opset, digests, export_id)
    calibration = None
    if quantize == "int8":
        files["int8"] = "model.int8.onnx"
        calibration = _quantize_static(partial, files["fp32"], files["int8"], calibration_texts,
                                       type(model).INT8_OPERATORS)
        _stamp(partial / files["int8"], stamp)
        described = _describe(model, graph, partial, files, opset, digests, export_id)
        calibration |= _int8_gains(partial, files, calibration_texts[0])
        if not calibration["pays"]:  # said and recorded: the user asked for int8, and decides
            warnings.warn(f"int8 gains nothing here: {calibration['why']}", EmobenchWarning, stacklevel=2)
    return files, described, calibration, time.perf_counter() - started


INT8_SMALLER, INT8_FASTER = 0.8, 1.15  # int8 pays when its file is at most 80% of fp32's, or it is 15% faster


def _int8_gains(partial: Path, files: dict[str, str], texts: list[str]) -> dict:
    """What the int8 graph gains over fp32 on this CPU: its size and its throughput at batch 64 (the best of two
    passes over up to 128 calibration texts), and whether that pays (INT8_SMALLER, INT8_FASTER)."""
    sample = list(texts[:128])
    size = (partial / files["int8"]).stat().st_size / (partial / files["fp32"]).stat().st_size
    rates = {}
    for kind in ("fp32", "int8"):
        graph = OnnxModel(partial, files[kind], checking=True)
        graph.predict_proba_batched(sample[:8])  # warm-up: the first run allocates
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            graph.predict_proba_batched(sample)
            best = min(best, time.perf_counter() - started)
        rates[kind] = len(sample) / max(best, 1e-9)
    return int8_verdict(size, rates["int8"] / rates["fp32"], len(sample)) | {
        "texts_per_second": {k: round(v, 1) for k, v in rates.items()}}


def int8_verdict(size: float, speedup: float, texts: int) -> dict:
    """Whether int8 pays (at most INT8_SMALLER of fp32's size, or at least INT8_FASTER its speed), in words."""
    pays = size <= INT8_SMALLER or speedup >= INT8_FASTER
    why = (f"its file is {size:.2f}x fp32's and it scores {speedup:.2f}x as many texts a second on this CPU "
           f"(batch 64, {texts} texts)" + ("" if pays else f"; int8 pays at {INT8_SMALLER}x the size or "
                                           f"{INT8_FASTER}x the speed: export without --quantize to serve fp32"))
    return {"pays": pays, "size_ratio": round(size, 4), "speedup": round(speedup, 4), "why": why}


def _describe(model: Classifier, graph: OnnxGraph, partial: Path, files: dict[str, str], opset: int,
              digests: dict[str, str], export_id: str) -> ModelRecord:
    spec = {"file": files.get("int8", "model.onnx"), "files": dict(files), "inputs": graph.inputs,
            "preprocess": graph.preprocess, "opset": opset, "digests": digests, "export_id": export_id}
    described = validate(ModelRecord, {**model.record().dump(), "onnx": spec}, "the export's description")
    described.write(partial)
    return described


def _checked(model: Classifier, data: Split, partial: Path, files: dict[str, str],
             check_split: str) -> tuple[dict, dict]:
    """The export's scores and checks: every graph's decisions on the check split against the PyTorch model's, and
    its batch invariance. A failed check is an error naming it (and nothing is written)."""
    from ..evaluation.metrics import compute_metrics

    truth = model.truth(data)
    reference = model.decide(model.predict_proba_batched(data.texts))
    scores = {"pytorch": _scores(compute_metrics(truth, reference, model.label_names))}
    checks, decisions = {}, {}
    for kind, file in files.items():
        onnx = OnnxModel(partial, file, checking=True)
        decisions[kind] = onnx.predict(data.texts)
        checks[f"{kind}_batch_invariance"] = _invariance(onnx, data.texts)
    score_checks(truth, reference, decisions, model.label_names, scores, checks)
    if not all(c["passed"] for c in checks.values()):
        failed = "; ".join(f"{name} {c['value']:.4f} (" + (f"at least {c['required']:.4f}" if "required" in c
                                                            else f"at most {c['allowed']:.4f}") + ")"
                           for name, c in checks.items() if not c["passed"])
        raise EmobenchError(f"the export failed its checks on the {check_split} split ({failed}); nothing was "
                            f"written. Scores: {scores}")
    return scores, checks


def score_checks(truth, reference, decisions: dict, label_names: list[str], scores: dict, checks: dict) -> None:
    """The checks of the exported graphs' decisions against the PyTorch model's (``reference``) on the same texts, into
    ``scores`` and ``checks``: fp32 agreement, int8 accuracy and macro-F1 drops, each with a tolerance one text cannot
    break (:data:`TOLERANCE`)."""
    from ..evaluation.metrics import compute_metrics, one_text_change

    n = len(reference)
    for kind, decided in decisions.items():
        same = (decided == reference).all(axis=1) if np.ndim(reference) == 2 else decided == reference
        scores[kind] = _scores(compute_metrics(truth, decided, label_names))
        scores[kind]["agreement"] = float(same.mean()) if n else 1.0
    required = min(MIN_AGREEMENT, 1 - 1 / n) if n else MIN_AGREEMENT
    agreement = scores["fp32"]["agreement"]
    checks["fp32_agreement"] = {"value": agreement, "required": required, "passed": agreement >= required - 1e-12}
    if "int8" in decisions:
        one_text = one_text_change(truth, reference, len(label_names))
        for metric in ("accuracy", "macro_f1"):
            drop = scores["pytorch"][metric] - scores["int8"][metric]
            allowed = max(MAX_DROP, one_text[metric])
            checks[f"int8_{metric}_drop"] = {"value": drop, "allowed": allowed, "one_text": one_text[metric],
                                             "passed": drop <= allowed + 1e-12}


class ExportResult(ExportRecord):
    """The export's record, with the folder it lives in (``os.fspath(result)``)."""

    folder: Path

    def __fspath__(self) -> str:
        return str(self.folder)


def _finished(out: Path) -> ExportResult:
    _, _, record = open_export(out)
    return ExportResult.model_validate({**dict(record), "folder": out})


def _calibration_texts(corpus, run_dir: Path) -> tuple[list[str], str]:
    """The texts that fix int8's activation scales (their labels are never read): the training split's, or, for a
    model trained on no labelled text, the validation split's; refused when there are none."""
    for split in ("train", "validation"):
        if split in corpus.splits and len(corpus[split]):
            return list(corpus[split].texts), split
    raise EmobenchError(f"{run_dir}: int8 needs texts to calibrate its activation scales on, and this run has no "
                        f"training or validation texts (a zero-shot run without a validation split); export it "
                        f"without {option('quantize')} (fp32)")


def _quantize_static(folder: Path, fp32: str, int8: str, calibration: tuple[list[str], str],
                     operators: tuple[str, ...] = ("MatMul", "Gemm")) -> dict:
    """int8 with activation scales fixed by calibration on training texts (static, QDQ): unlike dynamic
    quantisation, which scales activations per batch, a text gets the same answer whatever batch it is in.
    Matrix products are quantised (they are the cost); per-channel weights."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

    pool, split = calibration
    rng = np.random.default_rng(0)
    texts = [pool[i] for i in sorted(rng.choice(len(pool), min(CALIBRATION_TEXTS, len(pool)), replace=False))]
    reference = OnnxModel(folder, fp32, checking=True)

    class Calibration(CalibrationDataReader):
        def __init__(self):
            self.batches = (feed for _, feed in reference.feeds(texts))

        def get_next(self):
            return next(self.batches, None)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ONNX Runtime's advice to pre-process the model first
        from ..logs import native_output_quiet

        with native_output_quiet():
            quantize_static(str(folder / fp32), str(folder / int8), Calibration(), quant_format=QuantFormat.QDQ,
                            op_types_to_quantize=list(operators), per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax)
    return {"method": "static", "format": "QDQ", "calibration": "MinMax", "calibration_texts": len(texts),
            "calibration_split": split,
            "operators": list(operators), "weights": "int8 per channel", "activations": "uint8"}


def _invariance(onnx: OnnxModel, texts: list[str]) -> dict:
    """Every check text scored alone and inside mixed batches: the same label and probabilities within 1e-5."""
    rng = np.random.default_rng(1)
    chosen = [texts[i] for i in sorted(rng.choice(len(texts), min(INVARIANCE_TEXTS, len(texts)), replace=False))]
    alone = np.concatenate([onnx.predict_proba([t]) for t in chosen]) if chosen else np.zeros((0, len(onnx.label_names)))
    order = rng.permutation(len(chosen))
    mixed = np.zeros_like(alone)
    for start in range(0, len(order), MIXED_BATCH):  # random neighbours, each batch also sorted by length inside
        idx = order[start : start + MIXED_BATCH]
        mixed[idx] = onnx.predict_proba([chosen[i] for i in idx])
    difference = np.abs(alone - mixed).max(axis=1) if len(chosen) else np.zeros(0)
    same = (onnx.decide(alone) == onnx.decide(mixed))
    same = (same.all(axis=1) if same.ndim == 2 else same) & (difference <= INVARIANCE_TOLERANCE)
    share = float(same.mean()) if len(chosen) else 1.0
    return {"value": share, "required": 1.0, "passed": share == 1.0, "texts": len(chosen),
            "max_difference": float(difference.max()) if len(chosen) else 0.0, "tolerance": INVARIANCE_TOLERANCE}


def _scores(metrics: SplitMetrics) -> dict:
    out = {"accuracy": metrics.accuracy, "macro_f1": metrics.macro.f1}
    if metrics.task == "multi_label":
        out["micro_f1"] = metrics.micro.f1
    return out


def _stamp(path: Path, metadata: dict[str, str]) -> None:
    """The graph's own record of what it was exported with (label names, the inputs' sha256)."""
    import onnx

    graph = onnx.load(str(path))
    del graph.metadata_props[:]
    for key, value in metadata.items():
        graph.metadata_props.add(key=key, value=value)
    onnx.save(graph, str(path))


def _export(graph: OnnxGraph, path: Path, opset: int) -> None:
    import torch

    module = graph.module.eval()
    example = tuple(graph.example[name] for name in graph.inputs)
    from ..logs import native_output_quiet

    with warnings.catch_warnings(), torch.no_grad(), native_output_quiet():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation on every call
        torch.onnx.export(module, example, str(path), input_names=graph.inputs, output_names=["logits"],
                          dynamic_axes={**graph.dynamic_axes, "logits": {0: "batch"}}, opset_version=opset,
                          dynamo=False)

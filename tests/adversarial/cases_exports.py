"""ONNX export: a family that does not export, bad formats and quantizations, odd destinations, edited weights,
every exportable family in fp32 and int8 (the checks must pass), two exports to one folder at once."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from .harness import Case
from .helpers import cli, copy_run, process_case, together, write


def concurrent_exports(ws, case_dir: Path):
    """Two exports to one folder at once: one writes it, the other refuses; the folder is whole."""
    out = case_dir / "exp"
    results = together([[*cli(), "export", ws.p("runs", "lstm-run"), "-o", str(out)]] * 2)
    codes = sorted(code for code, _ in results)
    if codes != [0, 2] or not (out / "export.json").is_file():
        return 1, "exit codes " + str(codes) + "\n" + "\n".join(o[-400:] for _, o in results)
    shutil.rmtree(out, ignore_errors=True)
    return 2, next(o for code, o in results if code == 2)


def _export_check(kind):
    def check(case_dir, ws, output):
        record = json.loads((case_dir / "exp" / "export.json").read_text())
        invariant = record["checks"].get(f"{kind}_batch_invariance", {})
        if not record["passed"] or invariant.get("value") != 1.0:
            return f"export checks: {record['checks']}"
        return None
    return check


def cases() -> list[Case]:
    c: list[Case] = []
    # -------- export
    export = lambda run, *a: ["export", run, *a]
    c += [
        Case("export a tfidf run", export("{ws}/runs/tfidf-run", "-o", "{case}/exp"), message=r"tfidf stays in scikit-learn",
             group="export"),
        Case("export --format tflite", export("{ws}/runs/lstm-run", "--format", "tflite", "-o", "{case}/exp"),
             message=r"--format 'tflite': expected onnx", group="export"),
        Case("export --quantize int4", export("{ws}/runs/lstm-run", "--quantize", "int4", "-o", "{case}/exp"),
             message=r"--quantize 'int4': expected int8", group="export"),
        Case("export into an existing folder", export("{ws}/runs/lstm-run", "-o", "{case}/exp"), message=r"exp already exists",
             setup=lambda d, ws: (d / "exp").mkdir(), group="export"),
        Case("export onto a file", export("{ws}/runs/lstm-run", "-o", "{case}/f"), message=r"f already exists",
             setup=lambda d, ws: write(d / "f", "x"), group="export"),
        Case("export under a file", export("{ws}/runs/lstm-run", "-o", "{case}/f/exp"), message=r"f: (is a file|Not a directory)",
             setup=lambda d, ws: write(d / "f", "x"), group="export"),
        Case("export a missing run", export("{case}/nope", "-o", "{case}/exp"), message=r"nope: no such run", group="export"),
        Case("export an unfinished run", export("{case}/r.partial", "-o", "{case}/exp"), message=r"unfinished run",
             setup=lambda d, ws: shutil.copytree(ws.root / "runs" / "lstm-run", d / "r.partial"), group="export"),
        Case("export a run with edited weights", export("{case}/run", "-o", "{case}/exp"), message=r"lstm\.safetensors",
             setup=copy_run("lstm-run", lambda run, ws: write(run / "model" / "lstm.safetensors", b"\x00" * 64), manifests=True),
             group="export"),
        Case("export an LSTM, fp32", export("{ws}/runs/lstm-run", "-o", "{case}/exp"), expect="ok", check=_export_check("fp32"),
             group="export"),
        Case("export an LSTM, int8", export("{ws}/runs/lstm-run", "--quantize", "int8", "-o", "{case}/exp"), expect="ok",
             check=_export_check("int8"), group="export"),
        Case("export lstm-paper, int8", export("{ws}/runs/paper-run", "--quantize", "int8", "-o", "{case}/exp"), expect="ok",
             check=_export_check("int8"), group="export"),
        Case("export a transformer, int8", export("{ws}/runs/bert-run", "--quantize", "int8", "-o", "{case}/exp"), expect="ok",
             check=_export_check("int8"), group="export"),
        Case("export a multi-label tfidf run", export("{ws}/runs/multi-run", "-o", "{case}/exp"),
             message=r"tfidf stays in scikit-learn", group="export"),
        Case("export into the run folder", export("{case}/run", "-o", "{case}/run/model"), message=r"model already exists",
             setup=copy_run("lstm-run", lambda run, ws: None), group="export"),
        process_case("two exports to one folder at once", concurrent_exports, r"another export is being written there|already exists"),
    ]
    return c

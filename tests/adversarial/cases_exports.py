"""ONNX export: a family that does not export, bad formats and quantizations, odd destinations, edited weights,
every exportable family in fp32 and int8 (the checks must pass), two exports to one folder at once."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from .harness import Case
from .helpers import cli, copy_run, ok_output, process_case, together, write


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


def _int8_export(run: str):
    """An int8 export of a tiny random model, judged by what holds on any CPU: it passes its checks (the record
    consistent), or refuses naming only the int8 score checks that failed, each with its value past its limit, and
    writes nothing. int8 arithmetic differs between CPUs; a check passed or failed by a hair is not the point."""
    import re
    import subprocess

    def case(ws, case_dir: Path):
        out = case_dir / "exp"
        done = subprocess.run([*cli(), "export", ws.p("runs", run), "--quantize", "int8", "-o", str(out)],
                              capture_output=True, text=True, timeout=900)
        said = done.stdout + done.stderr
        if done.returncode == 0:
            problem = _export_check("int8")(case_dir, ws, said)
            return (1, problem) if problem else (0, said)
        failed = re.findall(r"(\w+) (-?[0-9.]+) \(at most ([0-9.]+)\)", said)
        if done.returncode == 2 and failed and "Traceback" not in said and not out.exists() and \
                all(name in ("int8_accuracy_drop", "int8_macro_f1_drop") and float(v) > float(limit)
                    for name, v, limit in failed) and "at least" not in said:
            return 0, said
        return 1, f"exit {done.returncode}: {said[-1500:]}"
    return case


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
        process_case("export an LSTM, int8", _int8_export("lstm-run"), expect="ok"),
        process_case("export lstm-paper, int8", _int8_export("paper-run"), expect="ok"),
        process_case("export a transformer, int8", _int8_export("bert-run"), expect="ok"),
        Case("export a multi-label tfidf run", export("{ws}/runs/multi-run", "-o", "{case}/exp"),
             message=r"tfidf stays in scikit-learn", group="export"),
        Case("export into the run folder", export("{case}/run", "-o", "{case}/run/model"),
             message=r"--output .*run/model: inside .*run, a folder emobench wrote",
             setup=copy_run("lstm-run", lambda run, ws: None, manifests=True), group="export"),
        Case("export into the run's model folder", export("{case}/run", "-o", "{case}/run/model/onnx"),
             message=r"--output .*model/onnx: inside .*run/model, a folder emobench wrote",
             setup=copy_run("lstm-run", lambda run, ws: None, manifests=True), group="export"),
        Case("the run stays usable after a refused export into it", ["predict", "{case}/run", "i am so sad"], expect="ok",
             setup=lambda d, ws: (copy_run("lstm-run", lambda run, ws: None, manifests=True)(d, ws),
                                  __import__("subprocess").run([*cli(), "export", str(d / "run"), "-o",
                                                                str(d / "run" / "model" / "onnx")], capture_output=True)),
             check=ok_output(r"sad|joy|anger"), group="export"),
        process_case("two exports to one folder at once", concurrent_exports, r"another export is being written there|already exists|another process is claiming it right now"),
    ]
    return c

"""`predict`: texts on the command line (markup, empty, not UTF-8) and batch scoring of files (CSV, TSV, JSONL and
text edge cases, bad outputs, two scorings into one output, a kill mid-way), and the Ray engine's options."""
from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .harness import Case
from .helpers import cli, csv_text, ok_output, process_case, together, user_rows, write


def concurrent_scorings(ws, case_dir: Path):
    """Two scorings into one output at once: the second refuses, the output is one whole scoring."""
    source = case_dir / "in.txt"
    # long enough (seconds of scoring) that the two runs overlap however their start-up times differ
    source.write_text("".join(f"i feel happy today {i}\n" for i in range(100_000)), encoding="utf-8")
    out = case_dir / "out.csv"
    results = together([[*cli(), "predict", ws.p("runs", "tfidf-run"), "--file", str(source), "--output", str(out), "-q"]] * 2)
    codes = sorted(code for code, _ in results)
    rows = out.read_text(encoding="utf-8").count("\n") if out.is_file() else 0
    if codes != [0, 2] or rows != 100_001:
        return 1, f"exit codes {codes}, {rows} rows\n" + "\n".join(o[-400:] for _, o in results)
    out.unlink()
    source.unlink()
    return 2, next(o for code, o in results if code == 2)


def killed_scoring(ws, case_dir: Path):
    """SIGTERM while scoring: no output and no partial file are left; a rerun writes the whole output."""
    source = case_dir / "in.txt"
    source.write_text("".join(f"i feel happy today number {i}\n" for i in range(200_000)), encoding="utf-8")
    out = case_dir / "out.csv"
    command = [*cli(), "predict", ws.p("runs", "tfidf-run"), "--file", str(source), "--output", str(out), "-q",
               "--chunk-size", "256"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    while not (case_dir / "out.csv.partial").exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=120)
    output = process.stdout.read()
    left = sorted(p.name for p in case_dir.iterdir() if p.name != "in.txt")
    if code == 0 or left:
        return 1, f"killed scoring: exit {code}, left {left}: {output[-300:]}"
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    rows = out.read_text(encoding="utf-8").count("\n") if out.is_file() else 0
    if again.returncode != 0 or rows != 200_001:
        return 1, f"rerun: exit {again.returncode}, {rows} rows: {again.stdout[-300:]}{again.stderr[-300:]}"
    out.unlink()
    source.unlink()
    return 0, "terminated, nothing left behind; the rerun wrote all 200,000 rows"


def _scored_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _scoring_check(expected_rows, columns=None, contains=None):
    """The scored output holds ``expected_rows`` rows, its first columns are ``columns``, a row passes ``contains``."""
    def check(case_dir, ws, output):
        out = next((p for p in case_dir.glob("out.*") if not p.name.endswith(".partial")), None)
        if out is None:
            return "no output written"
        if out.suffix == ".jsonl":
            rows = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
            header = list(rows[0]) if rows else []
        else:
            rows = _scored_rows(out)
            header = out.read_text(encoding="utf-8").split("\n", 1)[0].split(",")
        if len(rows) != expected_rows:
            return f"{len(rows)} rows, expected {expected_rows}"
        if columns and header[: len(columns)] != columns:
            return f"columns {header}, expected {columns} first"
        if contains and not any(contains(r) for r in rows):
            return "a row lost its content"
        return None
    return check


def predict_file(name, content, message="", suffix=".csv", extra=(), expect="error", check=None, output="out.csv",
                 encoding="utf-8") -> Case:
    """`predict --file in{suffix} --output {output}` of the finished tfidf run, the input holding ``content``."""
    def setup(case_dir, ws):
        write(case_dir / f"in{suffix}", content, encoding)
    return Case(name, ["predict", "{ws}/runs/tfidf-run", "--file", "{case}/in" + suffix, "--output", "{case}/" + output, "-q",
                       *extra], expect, message, setup, check, group="scoring")


def cases() -> list[Case]:
    c: list[Case] = []
    # -------- predict on the command line
    c += [
        Case("predict with a missing run", ["predict", "{case}/nope", "hi"], message=r"nope: no such run or model directory", group="predict"),
        Case("predict with an unfinished run", ["predict", "{case}/r.partial", "hi"], message=r"r\.partial.*unfinished run",
             setup=lambda d, ws: (shutil.copytree(ws.root / "runs" / "tfidf-run", d / "r.partial")), group="predict"),
        Case("predict without texts", ["predict", "{ws}/runs/tfidf-run"], message=r"no text given", group="predict"),
        Case("scores written into a run's folder", ["predict", "{case}/run", "--file", "{case}/t.txt", "--output",
                                                   "{case}/run/scores.csv"],
             message=r"--output .*scores\.csv: inside .*run, a folder emobench wrote",
             setup=lambda d, ws: (shutil.copytree(ws.root / "runs" / "tfidf-run", d / "run"),
                                  (d / "t.txt").write_text("i feel sad\n")), group="predict"),
        Case("scoring a CSV with a quote left open", ["predict", "{ws}/runs/tfidf-run", "--file", "{case}/t.csv", "--output",
                                                      "{case}/o.csv"],
             message=r"t\.csv, line \d+: malformed CSV \(a quote is left open to the end of the file\)",
             setup=lambda d, ws: (d / "t.csv").write_text('id,text\n1,"unterminated\n2,sad\n'), group="predict"),
        Case("scoring a UTF-8 file as UTF-16", ["predict", "{ws}/runs/tfidf-run", "--file", "{case}/t.txt", "--output",
                                                "{case}/o.csv", "--encoding", "utf-16"],
             message=r"t\.txt: cannot be read as utf-16", setup=lambda d, ws: (d / "t.txt").write_text("i feel sad\n"),
             group="predict"),
        Case("scoring a text file with blank lines", ["predict", "{ws}/runs/tfidf-run", "--file", "{case}/t.txt", "--output",
                                                      "{case}/o.csv"], expect="ok",
             check=ok_output(r"2 blank line\(s\) skipped \(line 2, 3\)"),
             setup=lambda d, ws: (d / "t.txt").write_text("i feel happy\n\n   \nso sad\n"), group="predict"),
        Case("--text-column for a text file", ["predict", "{ws}/runs/tfidf-run", "--file", "{case}/t.txt", "--text-column", "x"],
             message=r"--text-column applies to a CSV, TSV or JSONL --file",
             setup=lambda d, ws: (d / "t.txt").write_text("i feel sad\n"), group="predict"),
        Case("a text with terminal escapes", ["predict", "{ws}/runs/tfidf-run", "x\x1b[2Jy"], expect="ok",
             check=lambda d, ws, out: None if "\x1b" not in out and "x\\x1b[2Jy" in out else "the escape reached the terminal",
             env={"COLUMNS": "200"}, group="predict"),
        Case("predict a label named like an emoji code", ["predict", "{ws}/runs/tfidf-run", "so :fire: and :abc: sad"],
             expect="ok", check=ok_output(r":fire: and :abc:"), env={"COLUMNS": "200"}, group="predict"),
        Case("predict an empty text", ["predict", "{ws}/runs/tfidf-run", ""], message=r"text 1 is empty", group="predict"),
        Case("predict rich markup [/]", ["predict", "{ws}/runs/tfidf-run", "i feel [/] so sad"], expect="ok",
             check=ok_output(r"i feel \[/\] so.*sadness"), group="predict"),
        Case("predict rich markup [sad]", ["predict", "{ws}/runs/tfidf-run", "[sad] really"], expect="ok",
             check=ok_output(r"\[sad\] really"), group="predict"),
        Case("predict --json", ["predict", "{ws}/runs/tfidf-run", "so sad and lonely", "--json"], expect="ok",
             check=lambda d, ws, out: None if '"label": "sadness"' in out else "wrong label", group="predict"),
        Case("predict a missing --file", ["predict", "{ws}/runs/tfidf-run", "--file", "{case}/t.txt"], message=r"t\.txt: file not found",
             group="predict"),
        Case("predict --file CSV without the column", ["predict", "{ws}/runs/tfidf-run", "--file", "{case}/t.csv"],
             message=r"t\.csv, line 2: missing column 'text'", setup=lambda d, ws: write(d / "t.csv", "sentence\nhello\n"), group="predict"),
        Case("predict --file CSV column", ["predict", "{ws}/runs/tfidf-run", "--file", "{case}/t.csv", "--text-column", "sentence",
                                           "--json"], expect="ok", setup=lambda d, ws: write(d / "t.csv", "sentence\ni am so angry and furious\n"),
             check=lambda d, ws, out: None if out.count('"label"') == 1 and '"anger"' in out else "header read as a text?",
             group="predict"),
        Case("predict a binary --file", ["predict", "{ws}/runs/tfidf-run", "--file", "{case}/t.txt"], message=r"t\.txt: the file is gzip-compressed, not text",
             setup=lambda d, ws: write(d / "t.txt", b"\x1f\x8b\x08binary"), group="predict"),
    ]
    # -------- batch scoring
    rows = user_rows()
    c += [
        predict_file("a header-only CSV", "id,text\n", expect="ok", check=_scoring_check(0, ["id", "text"])),
        predict_file("a header-only TSV", "text\tid\n", suffix=".tsv", expect="ok", check=_scoring_check(0)),
        predict_file("an empty CSV", "", r"in\.csv, line 1: empty file"),
        predict_file("duplicate column names", "text,text\na,b\n", r"column 'text' appears twice"),
        predict_file("a column named predicted_label", "text,predicted_label\nso sad,x\n", r"predicted_label"),
        predict_file("a column named p_joy", "text,p_joy\nso sad,1\n", r"p_joy"),
        predict_file("a ragged row", "text,id\nso sad,1\nso happy,2,3\n", r"in\.csv, line 3: a row with 3 fields"),
        predict_file("a missing text column", "words\nso sad\n", r"in\.csv, line 2: missing column 'text'"),
        predict_file("an empty text", "text,id\nso sad,1\n,2\n", r"in\.csv, line 3: empty text"),
        predict_file("invalid UTF-8 in a row", b"text\nso sad\nbad \xff byte\n", r"in\.csv, line 3: bytes b'\\xff' are not valid"),
        predict_file("a BOM", "\ufefftext,id\nso sad and lonely,1\n", expect="ok", check=_scoring_check(1, ["text", "id"])),
        predict_file("CRLF line ends", "text,id\r\nso sad and lonely,1\r\nso happy,2\r\n", expect="ok", check=_scoring_check(2)),
        predict_file("U+2028 inside a field", 'text,id\n"so sad\u2028and lonely",1\nhappy,2\n', expect="ok",
                     check=_scoring_check(2, contains=lambda r: "\u2028" in r["text"])),
        predict_file("U+0085 inside a .txt line", "so sad\u0085and lonely\nhappy\n", suffix=".txt", expect="ok",
                     check=_scoring_check(2, contains=lambda r: "\u0085" in r["text"])),
        predict_file("JSONL keys in different orders", '{"text": "so sad", "id": 1}\n{"id": 2, "text": "so happy"}\n',
                     suffix=".jsonl", output="out.csv", expect="ok",
                     check=_scoring_check(2, contains=lambda r: r["id"] == "2" and r["text"] == "so happy")),
        predict_file("JSONL records with different keys to CSV", '{"text": "so sad", "id": 1}\n{"text": "so happy", "x": 2}\n',
                     r"line 2: .*keys|columns", suffix=".jsonl"),
        predict_file("JSONL with a key named probabilities", '{"text": "so sad", "probabilities": 1}\n', r"probabilities",
                     suffix=".jsonl", output="out.jsonl"),
        predict_file("JSONL with a lone surrogate", '{"text": "so \\ud800 sad"}\n', r"in\.jsonl, line 1: .*lone surrogate",
                     suffix=".jsonl"),
        predict_file("JSONL nested 10,000 deep", '{"text": "x", "n": ' + "[" * 10_000 + "]" * 10_000 + "}\n",
                     r"in\.jsonl, line 1: JSON nested too deeply", suffix=".jsonl"),
        predict_file("JSONL line that is a list", '{"text": "ok"}\n[1, 2]\n', r"in\.jsonl, line 2: expected a JSON object",
                     suffix=".jsonl"),
        predict_file("a text over 1,000,000 characters", "text\n" + "x" * 1_000_001 + "\n",
                     r"in\.csv, line 2: malformed CSV \(a field of more than 1,000,000 characters"),
        predict_file("output with an unknown suffix", csv_text(rows), r"\.xlsx", output="out.xlsx"),
        predict_file("output into a missing folder", csv_text(rows), r"no/out\.csv|does not exist", output="no/out.csv"),
        predict_file("output is the input", csv_text(rows), r"--output must not be the input file", output="in.csv"),
        predict_file("--chunk-size 0", csv_text(rows), r"--chunk-size 0", extra=("--chunk-size", "0")),
        predict_file("--engine spark", csv_text(rows), r"--engine 'spark'", extra=("--engine", "spark")),
        Case("--ray-address without --engine ray", ["predict", "{ws}/runs/tfidf-run", "--file", "{ws}/user/test.csv", "--output",
                                                    "{case}/out.csv", "--ray-address", "127.0.0.1:1"],
             message=r"--ray-address applies to --engine ray", group="scoring"),
        Case("--engine without --output", ["predict", "{ws}/runs/tfidf-run", "so sad", "--engine", "ray"],
             message=r"--engine applies to file scoring with --output", group="scoring"),
        Case("a command-line text that is not UTF-8", ["predict", "{ws}/runs/tfidf-run", "bad \udcff byte"],
             message=r"text 1: byte b'\\xff' .* is not valid UTF-8", group="scoring"),
        process_case("two scorings into one output at once", concurrent_scorings, r"is being written|another", group="scoring"),
        process_case("a scoring killed mid-way, then rerun", killed_scoring, expect="ok", group="scoring"),
    ]
    # -------- Ray
    c += [
        Case("Ray at an address where none runs", ["predict", "{ws}/runs/tfidf-run", "--file", "{ws}/user/test.csv", "--output",
                                                   "{case}/out.csv", "--engine", "ray", "--ray-address", "127.0.0.1:9"],
             message=r"cannot start or reach Ray at 127\.0\.0\.1:9", group="ray"),
        Case("Ray with --ray-workers 0", ["predict", "{ws}/runs/tfidf-run", "--file", "{ws}/user/test.csv", "--output",
                                          "{case}/out.csv", "--engine", "ray", "--ray-workers", "0"],
             message=r"--ray-workers 0", group="ray"),
        Case("Ray with a malformed address", ["predict", "{ws}/runs/tfidf-run", "--file", "{ws}/user/test.csv", "--output",
                                              "{case}/out.csv", "--engine", "ray", "--ray-address", "not an address"],
             message=r"cannot start or reach Ray at not an address", group="ray"),
    ]
    return c

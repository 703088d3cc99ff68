"""Few-shot: from zero labelled texts to 64 per class, the fewshot family (with and without the unlabeled rest of the
training split) beside the SetFit library and model2vec at their defaults and emobench's setfit and static families
(issue 29, "Measured"). With --ablation: the fewshot family's ingredients one at a time, on dair-ai at 8 and 16.

    EMOBENCH_DATA=../shared/data .venv/bin/python benchmarks/fewshot.py [--datasets emotion,isear]
        [--sizes 0,8,16,64] [--seeds 5] [--systems "SetFit,emobench fewshot"] [--validation budget|whole]
        [--ablation] [--resume FILE] [--markdown RESULT.json]

Budgets are texts per class drawn by emobench's data budgets: the same texts for every system at a size and seed, so
differences are paired by seed. The validation split is cut to the same budget (--validation budget, the default:
a user with 8 labels per class has no 2,000 labelled texts to choose on; at 0, none) or given whole (--validation
whole, as peers.py gives it). The test split is always whole. "+unlabeled": the training texts the budget left out,
their labels never read, as the pool the family self-trains on (it caps the pool itself). At 0 only the families that
learn from no labels run, and the majority baseline (the most frequent label of the whole training split) is the
reference row. Every cell (system, dataset, size, seed) runs in its own process (peers.py's systems and timing);
each finished cell is appended to a JSON-lines file at once, and --resume FILE goes on where a stopped run stopped
(refused when the machine, the versions or the code differ). Summaries: mean over seeds with a 95% t-interval over
seeds, and the paired difference to SetFit at the same budget (at 0: to the majority baseline; in the ablation: to
the full method), a t-interval over the seeds' differences.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import RESULTS, fit_emobench, print_table, run_child, scores, training_seconds, write_results  # noqa: E402
from fewshot_tables import compared_with, markdown, summarise  # noqa: E402

RUNS = HERE / "runs"  # ignored by git: the cells of runs in progress


@dataclass(frozen=True)
class Variant:
    """How one system is trained: an emobench model name with parameter overrides, or a peer library's function."""

    model: str | None = None
    overrides: dict = field(default_factory=dict)
    unlabeled: bool = False  # given the training texts the budget left out
    zero: bool = False  # learns from no labels: runs at size 0
    peer: str | None = None  # a system of peers.py
    whole_train: bool = False  # trained on the whole training split whatever the size (the majority reference)


SYSTEMS = {
    "SetFit": Variant(peer="setfit_system"),
    "model2vec": Variant(peer="model2vec_system"),
    "emobench setfit": Variant("setfit"),
    "emobench static": Variant("static"),
    "emobench fewshot": Variant("fewshot", zero=True),
    "emobench fewshot+unlabeled": Variant("fewshot", unlabeled=True, zero=True),
    # the bigger body (the `mpnet` extra), each system against the other on it
    "SetFit (MPNet)": Variant(peer="setfit_mpnet_system"),
    "emobench fewshot (MPNet)": Variant("fewshot", {"body": "sentence-transformers/all-mpnet-base-v2"}, zero=True),
}
MAJORITY = "majority (whole training split)"
REFERENCE = {"main": "SetFit", "zero": MAJORITY, "ablation": "full",
             "of": {"emobench fewshot (MPNet)": "SetFit (MPNet)"}}  # where a system's reference is not "main"
ABLATION = {
    "full": Variant("fewshot", unlabeled=True, zero=True),
    "no self-training": Variant("fewshot", zero=True),
    "no anchors": Variant("fewshot", {"anchors": False}, unlabeled=True, zero=True),
    "no body fine-tuning": Variant("fewshot", {"epochs": 0}, unlabeled=True, zero=True),
    "no anchor ensemble": Variant("fewshot", {"anchor_weight": 0}, unlabeled=True, zero=True),
}
PLAN_DEFAULTS = {False: {"datasets": "emotion,isear", "sizes": "0,8,16,64"},
                 True: {"datasets": "emotion", "sizes": "8,16"}}


def variants(ablation: bool) -> dict[str, Variant]:
    return ABLATION if ablation else {**SYSTEMS, MAJORITY: Variant("majority", whole_train=True)}


@dataclass(frozen=True)
class Cell:
    system: str
    dataset: str
    size: str
    seed: int

    @property
    def key(self) -> tuple:
        return (self.system, self.dataset, self.size, self.seed)


# ---------------------------------------------------------------- one cell, in its own process


def budgeted(dataset: str, size: str, seed: int, validation: str):
    """The corpus cut to ``size`` per class (and its validation split alike with --validation budget; at 0, none),
    and the training texts the budget left out (read from the budget's kept rows: their labels are never read)."""
    from emobench.data import load_dataset
    from emobench.data.budgets import apply_budget

    whole = load_dataset(dataset)
    if size == "all":
        return whole, []
    corpus = apply_budget(whole, size, seed, validation=validation == "budget")
    if validation == "none" or (size == "0" and validation == "budget"):  # at 0, no labels means no validation either
        corpus = dataclasses.replace(corpus, splits={**corpus.splits, "validation": corpus["validation"].subset([])})
    kept = set(corpus.source.budget.rows["train"])
    return corpus, [text for row, text in enumerate(whole["train"].texts) if row not in kept]


def train(variant: Variant, corpus, rest: list[str], seed: int, folder: Path) -> tuple[float, object, dict]:
    """(training seconds, probabilities function, what else the cell records), measured as peers.py measures."""
    if variant.peer:
        import peers

        return getattr(peers, variant.peer)(corpus, seed)
    from emobench.models.registry import small_data

    # on a budget, the family's small-data defaults, as `compare --train-sizes` and peers.py use them
    overrides = {**(small_data(variant.model) if len(corpus["train"]) < 4000 else {}), **variant.overrides}
    inputs = {"unlabeled": rest} if variant.unlabeled else {}
    seconds, proba, _, _, info = fit_emobench(variant.model, overrides, corpus, seed, folder, **inputs)
    seconds, extra = training_seconds(seconds, info)
    return seconds, proba, {**extra, "overrides": overrides, "model_info": json.loads(json.dumps(info, default=str))}


def run_cell(cell: Cell, ablation: bool, validation: str) -> dict:
    from emobench.environment import seed_everything

    variant = variants(ablation)[cell.system]
    seed_everything(cell.seed)
    corpus, rest = budgeted(cell.dataset, "all" if variant.whole_train else cell.size, cell.seed, validation)
    with tempfile.TemporaryDirectory(prefix="fewshot-") as scratch:
        seconds, proba, extra = train(variant, corpus, rest, cell.seed, Path(scratch) / "model")
        started = time.perf_counter()
        measured = scores(corpus, proba)
        test_seconds = time.perf_counter() - started
    return {**dataclasses.asdict(cell), "train_texts": len(corpus["train"]), "validation_texts":
            len(corpus["validation"]), "unlabeled_texts": len(rest) if variant.unlabeled else 0,
            "train_seconds": seconds, "test_seconds": test_seconds, **measured, **extra}


# ---------------------------------------------------------------- the plan, the records file, resuming


def code_state() -> dict:
    """The commit, and a digest of the code that measures (emobench's sources and the scripts this one runs,
    committed or not: a family module not committed yet counts too)."""
    root = HERE.parent
    digest = hashlib.sha256()
    measuring = [HERE / name for name in ("fewshot.py", "fewshot_tables.py", "common.py", "peers.py")]
    for path in sorted([*(root / "src" / "emobench").rglob("*.py"), *measuring]):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {"commit": commit, "sources_sha256": digest.hexdigest()}


def header(plan: dict) -> dict:
    from emobench.environment import machine_info, versions

    machine = {k: v for k, v in machine_info().items() if k != "date"}
    return {"benchmark": plan_name(plan), "plan": plan, "machine": machine, "versions": versions(), "code": code_state()}


def plan_name(plan: dict) -> str:
    return "fewshot_ablation" if plan["ablation"] else "fewshot"


def cells(plan: dict) -> list[Cell]:
    chosen = plan["systems"]
    out = []
    for dataset in plan["datasets"]:
        for size in plan["sizes"]:
            if size == "0":  # the majority reference only beside a system that learns from no labels
                here = [s for s in chosen if variants(plan["ablation"])[s].zero]
                here += [MAJORITY] if here and not plan["ablation"] else []
            else:
                here = chosen
            # seed-major: a run stopped early still has whole seeds, every system paired on them
            out += [Cell(system, dataset, size, seed) for seed in range(plan["seeds"]) for system in here]
    return out


def read_records(path: Path, refuse, option: str = "--resume") -> tuple[dict, dict[tuple, dict]]:
    """The header of a records file and its finished cells, by key (``refuse`` says what is wrong with the file)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        refuse(f"{option} {path}: {exc}; expected a records file this script wrote")
    rows = []
    for number, line in enumerate(lines, 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            refuse(f"{option} {path}: line {number} is not JSON (a write cut off when the run stopped?); delete that "
                   "line and resume again")
    if not rows or not isinstance(rows[0], dict) or not isinstance(rows[0].get("header"), dict):
        refuse(f"{option} {path}: line 1 is not a fewshot.py header; expected a records file this script wrote")
    return rows[0]["header"], keyed(rows[1:], path, option, refuse)


def read_result(path: Path, refuse) -> tuple[dict, dict[tuple, dict]]:
    """A result JSON this script wrote, as a records file's header and cells (its records file may be long gone)."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        refuse(f"--merge {path}: {exc}; expected a records file or a result JSON this script wrote")
    if not isinstance(result, dict) or result.get("benchmark") not in ("fewshot", "fewshot_ablation") or not all(
            isinstance(result.get(k), t) for k, t in (("cells", list), ("plan", dict), ("machine", dict))):
        refuse(f"--merge {path}: not a result JSON of benchmarks/fewshot.py (no benchmark, plan, machine and cells)")
    machine = {k: v for k, v in result["machine"].items() if k != "date"}
    header = {"benchmark": result["benchmark"], "plan": result["plan"], "machine": machine,
              "versions": result.get("versions"), "code": result.get("code")}
    return header, keyed(result["cells"], path, "--merge", refuse)


def keyed(rows: list, path: Path, option: str, refuse) -> dict[tuple, dict]:
    try:
        return {Cell(r["system"], r["dataset"], r["size"], r["seed"]).key: r for r in rows}
    except (KeyError, TypeError) as exc:
        refuse(f"{option} {path}: a cell without {exc}; expected the cells this script wrote")


def check_header(path: Path, recorded: dict, expected: dict, refuse) -> None:
    """Cells measured under another machine, other versions or other code would not be comparable: refused."""
    for what in ("benchmark", "plan", "machine", "versions", "code"):
        if recorded.get(what) != expected[what]:
            refuse(f"--resume {path}: the {what} differs from the recorded run's "
                   f"({differences(recorded.get(what), expected[what])}); start a new run")


def differences(recorded, now) -> str:
    if isinstance(recorded, dict) and isinstance(now, dict):
        keys = sorted(k for k in {*recorded, *now} if recorded.get(k) != now.get(k))
        return "; ".join(f"{k}: {recorded.get(k)!r} then, {now.get(k)!r} now" for k in keys)
    return f"{recorded!r} then, {now!r} now"


def measure(plan: dict, records: Path, done: dict[tuple, dict]) -> tuple[list[dict], list[dict]]:
    """Every cell of the plan not done yet, each in its own process, appended to ``records`` when it finishes."""
    rows, errors = [], []
    todo = cells(plan)
    print(f"{len(todo)} cells, {sum(c.key in done for c in todo)} already in {records}", flush=True)
    for cell in todo:
        if cell.key in done:
            rows.append(done[cell.key])
            continue
        row = run_child(__file__, ["--cell", json.dumps(dataclasses.asdict(cell)), "--validation", plan["validation"],
                                   *(["--ablation"] if plan["ablation"] else [])])
        if "error" in row:  # not recorded: a resumed run tries it again
            errors.append({**dataclasses.asdict(cell), **row})
            print(f"FAILED {cell}: {row['error']}", file=sys.stderr, flush=True)
            continue
        with open(records, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        rows.append(row)
        print(json.dumps({k: row[k] for k in ("system", "dataset", "size", "seed", "macro_f1", "train_seconds")}),
              flush=True)
    return rows, errors


# ---------------------------------------------------------------- the command line


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", help="comma-separated (default: emotion,isear; with --ablation: emotion)")
    parser.add_argument("--sizes", help="texts per class, comma-separated (default: 0,8,16,64; with --ablation: 8,16)")
    parser.add_argument("--seeds", type=int, help="seeds 0..N-1 at every size (default: 5)")
    parser.add_argument("--systems", help=f"comma-separated subset: {', '.join(SYSTEMS)}; with --ablation: "
                                          f"{', '.join(ABLATION)}")
    parser.add_argument("--merge", type=Path, nargs="+", metavar="RECORDS",
                        help="one result from several records files (benchmarks/runs/*.jsonl) or result JSONs of the same kind")
    parser.add_argument("--validation", choices=["budget", "whole", "none"],
                        help="the validation split cut to the budget (default) or whole")
    parser.add_argument("--ablation", action="store_true", help="the fewshot family's ingredients, one at a time")
    parser.add_argument("--resume", type=Path, metavar="FILE", help="a records file (JSON lines) of a stopped run")
    parser.add_argument("--markdown", type=Path, metavar="RESULT", help="print the README section of a result JSON")
    parser.add_argument("--cell", help=argparse.SUPPRESS)
    return parser


def make_plan(args, parser) -> dict:
    """The run's plan from the options, each checked; the defaults where an option is not given."""
    defaults = PLAN_DEFAULTS[args.ablation]
    known = variants(args.ablation)
    systems = [s.strip() for s in args.systems.split(",")] if args.systems else [s for s in known if s != MAJORITY]
    unknown = [s for s in systems if s not in known or s == MAJORITY]
    if unknown:
        parser.error(f"--systems: unknown {', '.join(map(repr, unknown))}; expected some of "
                     f"{', '.join(s for s in known if s != MAJORITY)}")
    sizes = [s.strip() for s in (args.sizes or defaults["sizes"]).split(",")]
    bad = [s for s in sizes if not s.isdigit() or str(int(s)) != s]
    if bad or not sizes:
        parser.error(f"--sizes: {', '.join(map(repr, bad))}: expected texts per class, integers >= 0 (0: no labels)")
    if args.seeds is not None and args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: expected an integer >= 1")
    datasets = [d.strip() for d in (args.datasets or defaults["datasets"]).split(",") if d.strip()]
    if not datasets:
        parser.error("--datasets: expected at least one dataset name")
    return {"ablation": args.ablation, "datasets": datasets, "sizes": sizes, "seeds": args.seeds or 5,
            "systems": list(dict.fromkeys(systems)), "validation": args.validation or "budget"}


def given(args) -> dict:
    return {k: v for k, v in vars(args).items() if k in ("datasets", "sizes", "seeds", "systems", "validation")
            and v is not None}


def main() -> None:
    parser = arguments()
    args = parser.parse_args()
    if args.cell:
        print(json.dumps(run_cell(Cell(**json.loads(args.cell)), args.ablation, args.validation)))
        return
    if args.markdown:
        try:
            print(markdown(json.loads(args.markdown.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError) as exc:
            parser.error(f"--markdown {args.markdown}: {exc}; expected a result JSON of benchmarks/fewshot.py")
        return
    if args.merge:
        return merge(args.merge, parser.error)
    if args.resume:
        if given(args) or args.ablation:
            parser.error(f"--resume goes on with the recorded run's plan; give it alone (given: "
                         f"{', '.join('--' + k for k in [*given(args), *(['ablation'] if args.ablation else [])])})")
        recorded, done = read_records(args.resume, parser.error)
        plan, records = recorded.get("plan"), args.resume
        if not isinstance(plan, dict) or set(plan) != set(make_plan(args, parser)):
            parser.error(f"--resume {records}: the header has no plan this script wrote")
        check_header(records, recorded, header(plan), parser.error)
    else:
        plan = make_plan(args, parser)
        expected = header(plan)
        RUNS.mkdir(exist_ok=True)
        records = RUNS / f"{plan_name(plan)}-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
        records.write_text(json.dumps({"header": expected}) + "\n", encoding="utf-8")
        done = {}
    print(f"cells are appended to {records}; a stopped run goes on with --resume {records}", flush=True)
    finish(plan, *measure(plan, records, done), records)


def merge(paths: list[Path], refuse) -> None:
    """One result from the cells of several records files or result JSONs of the same plan kind and versions (a system
    run again after a fix, more sizes on another day): a later file's cell replaces an earlier one's; each file's code
    state is kept. Machines may differ between sizes, never within one: a size's paired differences and training
    times compare systems that ran on the same CPU."""
    headers, cells_by_key = [], {}
    for path in paths:
        recorded, done = read_result(path, refuse) if path.suffix == ".json" else read_records(path, refuse, "--merge")
        headers.append(recorded)
        for row in done.values():
            row.setdefault("machine", recorded.get("machine"))  # a merged result's cells keep where they ran
        cells_by_key.update(done)
    first = headers[0]
    for path, recorded in zip(paths[1:], headers[1:]):
        for what in ("benchmark", "versions"):
            if recorded.get(what) != first.get(what):
                refuse(f"--merge {path}: the {what} differs from {paths[0]}'s "
                       f"({differences(first.get(what), recorded.get(what))}); cells are not comparable")
        for what in ("ablation", "validation"):
            if recorded["plan"].get(what) != first["plan"].get(what):
                refuse(f"--merge {path}: plan {what} {recorded['plan'].get(what)!r}, {paths[0]}'s "
                       f"{first['plan'].get(what)!r}; cells are not comparable")
    rows = list(cells_by_key.values())
    machines = machines_by_size(rows, refuse)
    plan = dict(first["plan"])
    for key in ("datasets", "sizes", "systems"):
        plan[key] = list(dict.fromkeys(v for h in headers for v in h["plan"][key]))
    plan["seeds"] = max(h["plan"]["seeds"] for h in headers)
    print(f"{len(rows)} cells from {len(paths)} files, measured on {len(machines)} machine(s); their code states "
          "are kept in the result")
    finish(plan, rows, [], paths[-1], sources=[{"file": str(p), "code": h.get("code")} for p, h in zip(paths, headers)],
           machines=machines)


def machines_by_size(rows: list[dict], refuse) -> list[dict]:
    """Which machine measured which (dataset, size); refused where systems compared with each other at one size ran
    on different machines."""
    by_group: dict[tuple, dict] = {}
    for row in rows:
        group = (row["dataset"], row["size"], compared_with(row["system"], REFERENCE))
        if by_group.setdefault(group, row["machine"]) != row["machine"]:
            refuse(f"--merge: {row['dataset']} at {row['size']} per class has cells compared with each other from "
                   "two machines "
                   f"({differences(by_group[group], row['machine'])}); its systems' paired differences and times "
                   "would compare different CPUs: measure that size again on one machine")
    machines: list[dict] = []
    for (dataset, size, group), machine in by_group.items():
        entry = next((m for m in machines if m["machine"] == machine), None)
        if entry is None:
            machines.append(entry := {"machine": machine, "measured": []})
        entry["measured"].append(f"{dataset} at {size} per class" + ("" if group == REFERENCE["main"] else
                                                                       f" ({group} and the systems against it)"))
    return machines


def finish(plan: dict, rows: list[dict], errors: list[dict], records: Path, sources: list | None = None,
           machines: list | None = None) -> None:
    summary = summarise(rows, ablation=plan["ablation"], reference=REFERENCE)
    columns = ["dataset", "size", "system", "seeds", "macro_f1", "macro_f1_low", "macro_f1_high", "reference",
               "delta", "delta_low", "delta_high", "accuracy", "train_seconds"]
    for dataset in plan["datasets"]:
        print_table(f"{dataset}: test macro-F1, mean over seeds and 95% t-interval; paired difference to the reference",
                    [r for r in summary if r["dataset"] == dataset], columns)
    path = write_results(plan_name(plan), summary, plan=plan, cells=rows, errors=errors, records=str(records),
                         code=code_state(), sources=sources, machines=machines, interval="95% t-interval over seeds (scipy.stats.t); differences paired "
                         "by seed (the same budgeted texts for every system)")
    print("results:", path)
    print(f"README section: .venv/bin/python benchmarks/fewshot.py --markdown {path.relative_to(RESULTS.parent.parent)}")
    if errors:
        print(f"{len(errors)} cells FAILED (left out of the summaries; --resume {records} runs them again)",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

"""The house rules, checked on the source: data flows one way up the floors (no module imports a higher floor),
only the records and the safe file layer read or write emobench's files by name, and no family or dataset name
appears outside the registries that say what is special about it."""
import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "emobench"
# Lowest first. A module may import its own floor and the ones below.
FLOORS = [
    {"errors", "params", "environment", "logs", "files", "claims", "batching", "tracking", "lazy", "cluster",
     "probability", "schema", "manifest"},
    {"data"},
    {"evaluation"},
    {"records"},
    {"training"},
    {"models"},
    {"reporting"},
    {"experiments"},
    {"serving"},
    {"cli", "__init__", "__main__"},
]
FLOOR = {name: i for i, names in enumerate(FLOORS) for name in names}


def modules():
    for path in sorted(SRC.rglob("*.py")):
        yield path, path.relative_to(SRC).parts


def floor_of(parts: tuple[str, ...]) -> int:
    return FLOOR[parts[0].removesuffix(".py")]


def imported(path: Path, parts: tuple[str, ...]) -> list[tuple[int, tuple[str, ...]]]:
    """(line, the emobench module path imported) for every relative or absolute emobench import."""
    tree = ast.parse(path.read_text())
    package = list(parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = [*base, *(node.module.split(".") if node.module else [])]
                names = [target] if node.module else [[*base, a.name] for a in node.names]
            elif node.module and node.module.split(".")[0] == "emobench":
                names = [node.module.split(".")[1:]]
            else:
                continue
            out += [(node.lineno, tuple(n)) for n in names if n]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, tuple(a.name.split(".")[1:])) for a in node.names
                    if a.name.split(".")[0] == "emobench" and len(a.name.split(".")) > 1]
    return out


def test_every_module_has_a_floor():
    unknown = sorted({parts[0] for _, parts in modules() if parts[0].removesuffix(".py") not in FLOOR})
    assert not unknown, f"modules without a floor: {unknown}"


def test_no_floor_imports_a_higher_one():
    violations = []
    for path, parts in modules():
        own = floor_of(parts)
        for line, target in imported(path, parts):
            if target and target[0].removesuffix(".py") in FLOOR and floor_of(target) > own:
                violations.append(f"{'/'.join(parts)}:{line} imports {'.'.join(target)} (floor {floor_of(target)} > {own})")
    assert not violations, "\n".join(violations)


FILE_NAMES = {"config.json", "metrics.json", "data.json", "environment.json", "history.json", "emobench_model.json",
              "export.json", "results.json", "comparison.json", "statistics.json", "tune.json", "trials.json",
              "ledger.json", "MANIFEST.json", "study.db"}


def test_only_records_name_emobench_files():
    """The on-disk formats are the records' (and the safe file layer's): nothing else names their files."""
    allowed = {"records", "files.py"}
    # a Hugging Face model folder's own config; a sentence-transformers Pooling module's
    library_files = {("models", "transformer.py"): {"config.json"}, ("models", "setfit.py"): {"config.json"},
                     ("models", "pretrained.py"): {"config.json"}}
    found = []
    for path, parts in modules():
        if parts[0] in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in FILE_NAMES \
                    and node.value not in library_files.get(parts, ()):
                found.append(f"{'/'.join(parts)}:{node.lineno} names {node.value!r}")
    assert not found, "\n".join(found)


def test_family_and_dataset_names_only_in_registries():
    """A family, model or dataset name as a literal outside its registry entry (or its own module) means a special
    case that the registry should say."""
    from emobench.data.readers import READERS
    from emobench.models.registry import FAMILIES, MODELS

    names = set(FAMILIES) | set(MODELS) | (set(READERS) - {"table"})
    home = {("models", "registry.py"), ("data", "registry.py")}
    coincidences = {("experiments", "export.py"): {"static"},  # static quantisation, not the static family
                    ("logs.py",): {"setfit"}}  # the setfit library's logger, not the family
    own = {("models", f"{family}.py") for family in FAMILIES} | {("data", "readers", f"{r}.py") for r in READERS}
    found = []
    for path, parts in modules():
        if parts in home or parts in own:
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef) and n.body
                      and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names \
                    and id(node) not in docstrings and node.value not in coincidences.get(parts, ()):
                found.append(f"{'/'.join(parts)}:{node.lineno} names {node.value!r}")
    assert not found, "\n".join(found)


def _registered_families() -> list[str]:
    from emobench.models.registry import FAMILIES

    return sorted(FAMILIES)


@pytest.mark.parametrize("family", _registered_families())  # every registered family, a seventh included
def test_a_family_is_one_module_and_one_registry_line(family):
    from emobench.models.registry import FAMILIES, family_class

    from emobench.models.base import Classifier

    cls = family_class(family)
    assert cls.__module__ == f"emobench.models.{family}" and FAMILIES[family].path.endswith(cls.__name__)
    for method in ("_fit", "logits", "_save_weights", "_load_weights"):  # the protocol's abstract parts, implemented
        assert getattr(cls, method) is not getattr(Classifier, method), f"{cls.__name__} does not implement {method}"


def test_no_private_name_is_imported_across_modules():
    """A name with a leading underscore is its module's own: another module that needs it needs a public name."""
    found = []
    for path, parts in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                found += [f"{'/'.join(parts)}:{node.lineno} imports {alias.name} from {node.module or '.'}"
                          for alias in node.names if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert not found, "\n".join(found)


def test_one_sigmoid_and_one_softmax():
    """Logits become probabilities in probability.py only (two hand-written sigmoids lacked its overflow
    guard)."""
    found = []
    for path, parts in modules():
        if parts == ("probability.py",):
            continue
        text = path.read_text()
        # a sigmoid, or a softmax's division by the exponentials' sum (a log-sum-exp, as in temperature.py, is not one)
        for pattern in (r"1 \+ (np|torch)\.exp\(", r"/ *\(?(np\.)?\w*\)?\.sum\(axis=1, keepdims=True\)"):
            if re.search(pattern, text):
                found.append(f"{'/'.join(parts)} computes {pattern!r}")
    assert not found, "\n".join(found)


def test_no_reader_name_is_compared_as_a_string():
    """Which reader a dataset uses is the registry's word (``DatasetConfig.user_file``, ``USER_FILES``), never a string
    compared in place: a sentinel spelled in ten places is ten places to miss."""
    from emobench.data.registry import READERS

    names = set(READERS)
    found = []
    for path, parts in modules():
        if parts == ("data", "registry.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                for side in [node.left, *node.comparators]:
                    if isinstance(side, ast.Constant) and side.value in names:
                        found.append(f"{'/'.join(parts)}:{node.lineno} compares with {side.value!r}")
            elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value in names:
                found.append(f"{'/'.join(parts)}:{node.lineno} indexes with {node.slice.value!r}")
    assert not found, "\n".join(found)


MAX_FILE_LINES, MAX_FUNCTION_LINES = 400, 60


def test_every_file_reads_in_one_sitting():
    """A module longer than 400 lines holds more than one concern: split it by concern, not by line count."""
    long = [f"{'/'.join(parts)}: {n} lines" for path, parts in modules()
            if (n := len(path.read_text().splitlines())) > MAX_FILE_LINES]
    assert not long, f"over {MAX_FILE_LINES} lines:\n" + "\n".join(long)


def test_every_function_reads_in_one_sitting():
    """A function longer than 60 lines (def to its last line) does several things: name each one."""
    long = []
    for path, parts in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{'/'.join(parts)}:{node.lineno} {node.name}: {n} lines")
    assert not long, f"over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(long)


# Where a typed value may become a dict: the records (on-disk formats) and the JSON edges -- the command line's
# --json, the HTTP answers, experiment tracking, the facts statistics.json keeps.
JSON_EDGES = {("records",), ("schema.py",), ("cli",), ("serving",), ("tracking.py",), ("reporting", "report.py")}


def test_typed_values_are_not_turned_back_into_dicts():
    """Producers return typed values and consumers read attributes: a ``model_dump()``, ``as_dict()`` or ``asdict()``
    of another object outside the records and the JSON edges hands a string-keyed dict on (a type writing itself,
    ``self.…``, is its own JSON form; ``.dump()`` is the JSON form, written where JSON is written)."""
    found = []
    for path, parts in modules():
        if any(parts[:len(edge)] == edge for edge in JSON_EDGES):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("model_dump", "as_dict"):
                target = func.value
            elif (isinstance(func, ast.Name) and func.id == "asdict") or (
                    isinstance(func, ast.Attribute) and func.attr == "asdict"):
                target = node.args[0] if node.args else None
            else:
                continue
            while isinstance(target, ast.Attribute):
                target = target.value
            if not (isinstance(target, ast.Name) and target.id == "self"):
                found.append(f"{'/'.join(parts)}:{node.lineno} {ast.unparse(node)[:80]}")
    assert not found, "\n".join(found)

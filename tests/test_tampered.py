"""The tampered-folder table of tests/adversarial (its cases_tampered_* modules), run in-process, one test per
surface: every edited, swapped or truncated run, model, export, comparison and tuning folder must end as a clear
error naming the file and the field (or as a correct, loudly allowed result), never a traceback, a silent wrong
answer, a file opened outside the folder or a half-written folder.
The same table with a printed summary: ``cd tests && ../.venv/bin/python -m adversarial --table tampered``."""
import pytest

from adversarial import TABLES, case_module, cases
from adversarial.harness import build_tampered_workspace, cli_invoker, run_cases, summary


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return build_tampered_workspace(tmp_path_factory.mktemp("tampered"), cli_invoker())


def test_the_table_covers_every_folder_and_route():
    # each surface's test below must see all of its cases end as "clear error" (errors) or "correct" (ok cases)
    table = cases("tampered")
    assert len(table) >= 60 and sum(c.expect == "error" for c in table) >= 100
    assert {c.group for c in table} == {"run", "model", "export", "comparison", "tuning", "body", "cache"}
    assert {c.via for c in table} == {"cli", "api", "service"}


@pytest.mark.parametrize("module", TABLES["tampered"])
def test_every_tampered_folder_is_refused_clearly(module, workspace):
    table = case_module(module).cases()
    results = run_cases(workspace, cli_invoker(), table, log=lambda line: None, prefix=f"{module.removeprefix('cases_')}-")
    assert len(results) == len(table)
    failures = [f"{r['case']} ({r['via']}, {r['mode']}): {r['outcome']} -- {r['detail']}" for r in results
                if r["outcome"] not in ("clear error", "correct")]
    assert not failures, "\n".join(failures)
    counts = summary(results)
    assert counts.get("clear error", 0) == sum(c.expect == "error" for c in table)
    assert counts.get("correct", 0) == sum(c.expect == "ok" for c in table)

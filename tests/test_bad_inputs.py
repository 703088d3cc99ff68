"""The bad-input table of tests/adversarial (its cases_* modules but the tampered ones), run in-process, one test
per surface: every case must end as a clear error (exit 2, a message naming the file / line / key, nothing written
or destroyed) or a correct result, and none as a traceback, a silent wrong result, code execution or a lost run.
As real processes: ``cd tests && ../.venv/bin/python -m adversarial --table bad_inputs``."""
import pytest

from adversarial import TABLES, case_module, cases
from adversarial.harness import ClientService, build_bad_inputs_workspace, cli_invoker, run_cases, summary


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return build_bad_inputs_workspace(tmp_path_factory.mktemp("bad-inputs"), cli_invoker())


@pytest.fixture(scope="module")
def service(workspace):
    service = ClientService(workspace)
    yield service
    service.close()


def test_the_table_holds_every_case():
    # each surface's test below must see all of its cases end as "clear error" (errors) or "correct" (ok cases)
    table = cases("bad_inputs")
    assert len(table) >= 320
    assert sum(c.expect == "error" for c in table) >= 100 and sum(c.expect == "ok" for c in table) >= 8


@pytest.mark.parametrize("module", TABLES["bad_inputs"])
def test_every_bad_input_is_a_clear_error_or_correct(module, workspace, service):
    table = case_module(module).cases()
    results = run_cases(workspace, cli_invoker(), table, log=lambda line: None, service=service,
                        prefix=f"{module.removeprefix('cases_')}-")
    assert len(results) == len(table)
    failures = [f"{r['case']}: {r['outcome']} -- {r['detail']}" for r in results
                if r["outcome"] not in ("clear error", "correct")]
    assert not failures, "\n".join(failures)
    counts = summary(results)
    assert counts.get("clear error", 0) == sum(c.expect == "error" for c in table)
    assert counts.get("correct", 0) == sum(c.expect == "ok" for c in table)

"""The bad-input table of benchmarks/bad_inputs.py, run in-process: every case must end as a clear error
(exit 2, a message naming the file / line / key, nothing written or destroyed) or a correct result, and
none as a traceback, a silent wrong result, code execution or a lost run."""
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bad_inputs  # noqa: E402

from emobench.cli import app  # noqa: E402


def invoke(args, env=None):
    env = {k: (v or None) for k, v in {"HF_HUB_OFFLINE": "1", **(env or {})}.items()}
    result = CliRunner().invoke(app, args, env=env)
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        output += "Traceback\n" + "".join(traceback.format_exception(result.exception))
    return result.exit_code, output


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return bad_inputs.build_workspace(tmp_path_factory.mktemp("bad-inputs"), lambda args: invoke(args))


def test_every_bad_input_is_a_clear_error_or_correct(workspace):
    from bad_inputs_surface import ClientService

    service = ClientService(workspace)
    try:
        results = bad_inputs.run_cases(workspace, invoke, log=lambda line: None, service=service)
    finally:
        service.close()
    assert len(results) >= 320
    failures = [f"{r['case']}: {r['outcome']} -- {r['detail']}" for r in results
                if r["outcome"] not in ("clear error", "correct")]
    assert not failures, "\n".join(failures)
    counts = bad_inputs.summary(results)
    assert counts.get("clear error", 0) >= 100 and counts.get("correct", 0) >= 8

"""Which words made a saved model say what it says: per-token attributions of texts, as a page when asked."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from ..files import check_output_file, write_text_atomic


def explain(run: str | Path, texts: list[str], label: str | None = None, *, html_out: str | Path | None = None,
            allow_modified: bool = False, quiet_stdout: bool = False) -> list:
    """The attributions of ``texts`` toward ``label`` (default: each text's predicted label), by the model of a run,
    a saved model folder or an ONNX export (which, holding no gradients, is explained by occlusion: each word left out
    in turn); ``html_out``: also written as one HTML page, with a legend and the model's name, atomically (checked
    before any work). ``quiet_stdout``: whatever a library prints while loading goes to standard error (JSON output
    stays parseable)."""
    from ..models.backends import load_backend
    from ..models.explain import explain_texts
    from ..reporting.explanations import to_page

    if html_out is not None:
        check_output_file(html_out, "html_out")
    with contextlib.redirect_stdout(sys.stderr) if quiet_stdout else contextlib.nullcontext():
        model = load_backend(run, allow_modified=allow_modified)
        explanations = explain_texts(model, list(texts), label)
    if html_out is not None:
        write_text_atomic(html_out, to_page(explanations, _name(Path(run), model, allow_modified)))
    return explanations


def _name(path: Path, model, allow_modified: bool) -> str:
    """"lstm (lstm, fp32, trained on emotion)": the model's name, family, number format and data, as recorded."""
    name, dataset = model.family, None
    source = getattr(getattr(model, "export", None), "source", None)
    if source is not None:
        name, dataset = source.model, source.dataset
    elif (path / "model").is_dir():
        from ..records.run import RunRecord

        run = RunRecord.load(path, allow_modified)
        name, dataset = run.config.model, run.data.dataset
    return f"{name} ({model.family}, {model.precision}" + (f", trained on {dataset})" if dataset else ")")

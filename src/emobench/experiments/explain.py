"""Which words made a saved model say what it says: per-token attributions of texts, as a page when asked."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from ..files import check_output_file, write_text_atomic


def explain(run: str | Path, texts: list[str], label: str | None = None, *, html_out: str | Path | None = None,
            allow_modified: bool = False, quiet_stdout: bool = False) -> list:
    """The attributions of ``texts`` toward ``label`` (default: each text's predicted label), by the model of a run
    or saved model folder; ``html_out``: also written as one HTML page, atomically (checked before any work).
    ``quiet_stdout``: whatever a library prints while loading goes to standard error (JSON output stays parseable)."""
    from ..models import load_model
    from ..models.explain import explain_texts
    from ..reporting.explanations import to_page

    if html_out is not None:
        check_output_file(html_out, "html_out")
    with contextlib.redirect_stdout(sys.stderr) if quiet_stdout else contextlib.nullcontext():
        model = load_model(run, allow_modified)
        explanations = explain_texts(model, texts, label)
    if html_out is not None:
        write_text_atomic(html_out, to_page(explanations))
    return explanations

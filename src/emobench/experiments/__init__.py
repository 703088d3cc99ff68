"""Workflows, one floor above models, evaluation and reporting and below serving and the CLI; each returns the
record of the folder it wrote: a run (``run``), a study (``study``), a hyper-parameter search (``tune``), an
ONNX export (``export``)."""

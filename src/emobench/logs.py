"""Logging: emobench's messages and the libraries' (transformers, accelerate, huggingface_hub) go to
standard error, never standard output, so ``--json`` output stays machine-readable. Library chatter
(load reports, "Loading weights" bars) shows only at ``--log-level debug``."""
from __future__ import annotations

import contextlib
import logging
import os
import sys

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
LIBRARIES = ("transformers", "accelerate", "huggingface_hub", "torch", "optuna", "mlflow", "urllib3", "filelock", "setfit",
             "sentence_transformers", "model2vec", "skeletoken", "cleanlab", "matplotlib", "onnxruntime",
             "datasets")
logger = logging.getLogger("emobench")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (test runners and redirections replace it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def bars(progress: bool) -> bool:
    """Progress bars only when asked for and standard error is a terminal (a log file gets lines instead)."""
    return progress and sys.stderr.isatty()


def configure(level: str = "info") -> None:
    """emobench's messages at ``level``; libraries only at debug (their warnings are noise for a user)."""
    numeric = LEVELS[level]
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StderrHandler):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logger.setLevel(numeric)
    quiet_libraries(logging.DEBUG if numeric <= logging.DEBUG else logging.ERROR)


def debugging() -> bool:
    return logger.isEnabledFor(logging.DEBUG)


@contextlib.contextmanager
def library_bars(progress: bool, *modules):
    """The progress bars a library draws with its own ``tqdm`` (model2vec's distillation and training loops take no
    option for them): shown when emobench's would be (asked for, on a terminal), else off."""
    import functools

    from tqdm import tqdm

    saved = [(module, getattr(module, "tqdm", None)) for module in modules]
    for module, _ in saved:
        module.tqdm = functools.partial(tqdm, disable=not bars(progress))
    try:
        yield
    finally:
        for module, original in saved:
            module.tqdm = original


@contextlib.contextmanager
def native_output_quiet():
    """Silence what libraries print below Python (torch.onnx's C++ shape-inference warnings, Ray's start-up lines)
    on standard error, unless debugging: file descriptor 2 points at /dev/null meanwhile, and Python's stderr too."""
    if debugging():
        yield
        return
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no real descriptor 2 (an embedding host): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_libraries(level: int | None = None) -> None:
    """Route library logs through the root logger at ``level`` (default: debug when emobench's level is debug, else
    errors only); no library progress bars unless debugging."""
    if level is None:
        level = logging.DEBUG if debugging() else logging.ERROR
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(level)
    if "optuna" in sys.modules:  # Optuna writes its per-trial lines through its own handler
        import optuna

        optuna.logging.disable_default_handler()
        optuna.logging.enable_propagation()
        optuna.logging.set_verbosity(level)
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        _quiet_transformers(hf_logging, level)
    if "setfit" in sys.modules:  # SetFit keeps a copy of transformers' logging module, with its own handler
        from setfit import logging as setfit_logging

        _quiet_transformers(setfit_logging, level)


def _quiet_transformers(hf_logging, level: int) -> None:
    hf_logging.set_verbosity(level)
    hf_logging.disable_default_handler()
    hf_logging.enable_propagation()
    if level > logging.DEBUG:
        hf_logging.disable_progress_bar()
    try:
        from huggingface_hub.utils import disable_progress_bars

        if level > logging.DEBUG:
            disable_progress_bars()
    except ImportError:
        pass

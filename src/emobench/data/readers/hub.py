"""A dataset from the Hugging Face hub by id (``--dataset hf:cardiffnlp/tweet_eval --hf-config emotion``), through the
``datasets`` library and its cache (a local folder that ``datasets.load_dataset`` reads, ``hf:./my_data``, works the
same, offline). Each split is written once to a JSONL file under ``$EMOBENCH_CACHE/hub/`` (keyed by the split's
``datasets`` fingerprint) and read by the reader of your own files, so a hub dataset takes the same options
(``--text-column``, ``--label-column``, ``--label-names``, ``--label-map``, budgets, ``--limit``) and gets the same
checks as a local file; its label names come from the dataset's ``ClassLabel`` features."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

from ...errors import EmobenchError, option
from ...files import cache_dir
from .table import SPLIT_ALIASES, load_table

PREFIX = "hf:"  # the part after it is the hub id (or a folder datasets reads): the registry's by_id


def cache_root() -> Path:
    return cache_dir("hub")


def load(config):
    hub_id = config.name[len(PREFIX):].strip()
    if not hub_id:
        raise EmobenchError(f"--dataset {config.name!r}: expected hf:OWNER/NAME (a dataset on the Hugging Face hub)")
    try:
        import datasets
    except ImportError:
        raise EmobenchError(f"{config.name}: a hub dataset needs the 'datasets' package (pip install 'emobench[hub]')") \
            from None
    from ...logs import debugging, quiet_libraries

    quiet_libraries()  # after the import: huggingface_hub sets its own level when first imported
    if not debugging():  # its "Generating train split" bars and notes are library chatter
        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
    try:
        found = datasets.load_dataset(hub_id, config.hf_config)
    except Exception as exc:  # not found, offline, a config it does not have: one line, never a traceback
        detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise EmobenchError(f"{config.name}" + (f" ({option('hf_config')} {config.hf_config})" if config.hf_config
                                                else "") + f": the datasets library could not load it ({detail})") from None
    files, names = _materialised(found, config)
    corpus = load_table(replace(config, name=files["train"] if "train" in files else next(iter(files.values())),
                                files=files, label_names=names if names else config.label_names,
                                text_column="text", label_column="label",  # the columns the JSONL files were written with
                                dataset_name=config.short_name))
    checks = {f"hub:{hub_id}" + (f"/{config.hf_config}" if config.hf_config else "") + f"/{split}": digest
              for split, digest in zip(files, corpus.source.files.values())}
    corpus.source = corpus.source.updated(kind="hub", files=checks)
    return corpus


def _materialised(found, config) -> tuple[dict[str, str], list[str] | None]:
    """Every split the data has (train, validation or test by any of their usual names) as a JSONL file of the text
    and label columns; the label names, where the label column is a ClassLabel (or a list of them)."""
    text_column, label_column = config.text_column, config.label_column
    splits = {SPLIT_ALIASES[name.lower()]: part for name, part in found.items() if name.lower() in SPLIT_ALIASES}
    if "train" not in splits and "test" not in splits:
        raise EmobenchError(f"{config.name}: its splits are {', '.join(found) or 'none'}; expected train, validation "
                            "or test")
    names, files = None, {}
    for split, part in splits.items():
        missing = [c for c in (text_column, label_column) if c not in part.column_names]
        if missing:
            flag = option("text_column") if missing[0] == text_column else option("label_column")
            raise EmobenchError(f"{config.name}: the {split} split has no column {missing[0]!r} (its columns: "
                                f"{', '.join(part.column_names)}); name it with {flag}")
        feature = part.features[label_column]
        inner = getattr(feature, "feature", feature)
        if getattr(inner, "names", None):
            names = list(inner.names)
        key = hashlib.sha256(f"{config.name}|{config.hf_config}|{split}|{part._fingerprint}|{text_column}|"
                             f"{label_column}".encode()).hexdigest()[:24]
        path = cache_root() / f"{key}.jsonl"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            with open(partial, "w", encoding="utf-8") as handle:
                for row in part.select_columns([text_column, label_column]):
                    handle.write(json.dumps({"text": row[text_column], "label": row[label_column]},
                                            ensure_ascii=False) + "\n")
            partial.replace(path)
        files[split] = str(path)
    return files, names

"""Tampered model folders of every family (tfidf, lstm, lstm-paper, a tiny BERT, SetFit, static, majority,
multi-label), through `predict` and the Predictor: label names, temperatures, vocabularies, tokenizers, tensors
and configurations edited, files added, truncated or swapped."""
from __future__ import annotations

import shutil
from pathlib import Path

from .harness import TamperedCase as Case  # the table's one case type
from .harness import Workspace
from .helpers import TEXT, copy_from, deep, field_of, json_edit, labels, predictor, raw, symlink_out, truncate


def _tensor_edit(name: str, key: str, change):
    """A tensor of a safetensors file changed (``change`` None: removed), the file's metadata kept."""
    def edit(folder: Path, ws: Workspace) -> None:
        import numpy as np
        from safetensors import safe_open
        from safetensors.numpy import save_file

        path = folder / name
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata()
            arrays = {k: handle.get_tensor(k) for k in handle.keys()}
        if change is None:
            arrays.pop(key)
        else:
            arrays[key] = np.ascontiguousarray(change(arrays[key]))
        save_file(arrays, str(path), metadata=metadata)
    return edit


def in_model(edit):
    """An edit of a run's model folder."""
    return lambda folder, ws: edit(folder / "model", ws)


def _labels_are(expected: list[str]):
    """The predictions of TEXT and an angry text are ``expected``."""
    def check(result) -> str | None:
        predictions = result if isinstance(result, list) else None
        if predictions is None:
            return "no predictions"
        got = [p.label for p in predictions]
        return None if got == expected else f"labels {got}, expected {expected}"
    return check


def cases() -> list[Case]:
    c: list[Case] = []
    model_runs = {"tfidf": "runs/tfidf", "lstm": "runs/lstm", "lstm-paper": "runs/paper", "bert": "runs/bert",
                  "setfit": "runs/setfit", "static": "runs/static", "majority": "runs/majority"}
    mj = "emobench_model.json"
    # -------- model folders of every family, through `predict` and the Predictor
    for family, source in model_runs.items():

        c += [
            Case(f"{family}: label names permuted (manifest)", "model", source, in_model(labels(lambda n: n[::-1])), "cli",
                 ["predict", "{f}", TEXT], mode="manifest", message=r"emobench_model\.json: .*(sha256 differs|bytes, but)"),
            Case(f"{family}: label names permuted", "model", source, in_model(labels(lambda n: n[::-1])), "api", call=predictor,
                 message=r"emobench_model\.json: field label_names: .*differ from the (labels the weights|outputs of the saved)"),
            Case(f"{family}: label names a string", "model", source, in_model(labels(lambda n: "joy")), "cli",
                 ["predict", "{f}", TEXT], message=r"emobench_model\.json: field label_names: Input should be a valid list"),
            Case(f"{family}: label names numbers", "model", source, in_model(labels(lambda n: list(range(len(n))))), "api",
                 call=predictor, message=r"emobench_model\.json: field label_names\[0\]: Input should be a valid string"),
            Case(f"{family}: one label name too many", "model", source, in_model(labels(lambda n: [*n, "pride"])), "cli",
                 ["predict", "{f}", TEXT], message=r"emobench_model\.json: field label_names: .*(outputs|differ)"),
            Case(f"{family}: temperature 1e-320", "model", source, in_model(field_of(mj, "temperature", 1e-320)), "cli",
                 ["predict", "{f}", TEXT], message=r"emobench_model\.json: field temperature"),
        ]
    c += [
        Case("tfidf: temperature Infinity", "model", "runs/tfidf", in_model(field_of(mj, "temperature", float("inf"))),
             "cli", ["predict", "{f}", TEXT], message=r"emobench_model\.json: the model description is not valid JSON \(Infinity"),
        Case("tfidf: temperature negative (no manifest)", "model", "runs/tfidf",
             in_model(field_of(mj, "temperature", -2.0)), "api", call=predictor, mode="legacy",
             message=r"emobench_model\.json: field temperature"),
        Case("tfidf: temperature as text", "model", "runs/tfidf", in_model(field_of(mj, "temperature", "1.0")),
             "api", call=predictor, message=r"emobench_model\.json: field temperature: Input should be a valid number"),
        Case("tfidf: duplicate label name", "model", "runs/tfidf", in_model(labels(lambda n: [n[0], *n[:-1]])),
             "cli", ["predict", "{f}", TEXT], message=r"emobench_model\.json: field label_names: .*appears twice"),
        Case("tfidf: empty label name", "model", "runs/tfidf", in_model(labels(lambda n: ["", *n[1:]])),
             "api", call=predictor, message=r"emobench_model\.json: field label_names\[0\]"),
        Case("tfidf: task says multi-label", "model", "runs/tfidf", in_model(field_of(mj, "task", "multi_label")),
             "cli", ["predict", "{f}", TEXT], message=r"emobench_model\.json: field .*decision|thresholds"),
        Case("tfidf: unknown family", "model", "runs/tfidf", in_model(field_of(mj, "family", "evil")), "cli",
             ["predict", "{f}", TEXT], message=r"emobench_model\.json: field family: unknown model family 'evil'"),
        Case("tfidf: parameter out of range", "model", "runs/tfidf",
             in_model(json_edit(mj, lambda d: d["params"].__setitem__("C", -1.0))), "api", call=predictor,
             message=r"emobench_model\.json: field params: parameter C=-1\.0"),
        Case("tfidf: an unknown key", "model", "runs/tfidf", in_model(field_of(mj, "labels", ["a"])), "api",
             call=predictor, message=r"emobench_model\.json: field labels: Extra inputs are not permitted"),
        Case("tfidf: JSON nested 10,000 deep", "model", "runs/tfidf", in_model(deep(mj)), "cli",
             ["predict", "{f}", TEXT], message=r"emobench_model\.json: the model description is JSON nested too deeply"),
        Case("tfidf: vocabulary terms dropped", "model", "runs/tfidf",
             in_model(json_edit("tfidf_vocabulary.json", lambda d: d["vocabularies"]["word"].pop())), "api",
             call=predictor, message=r"tfidf_vocabulary\.json: field vocabularies\.word: .* terms, but the weights hold"),
        Case("tfidf: vocabulary kind unknown", "model", "runs/tfidf",
             in_model(field_of("tfidf_vocabulary.json", "kind", "forest")), "cli", ["predict", "{f}", TEXT],
             message=r"tfidf_vocabulary\.json: field kind"),
        Case("tfidf: weights truncated (manifest)", "model", "runs/tfidf", in_model(truncate("tfidf.safetensors")),
             "cli", ["predict", "{f}", TEXT], mode="manifest", message=r"tfidf\.safetensors: .*bytes, but .* when the model was saved"),
        Case("tfidf: weights truncated", "model", "runs/tfidf", in_model(truncate("tfidf.safetensors")),
             "api", call=predictor, message=r"tfidf\.safetensors: the weights file cannot be read"),
        Case("tfidf: a pickle added", "model", "runs/tfidf", lambda f, ws: raw("model/tfidf.pkl", b"\x80\x04\x95")(f, ws), "cli",
             ["predict", "{f}", TEXT], mode="manifest", message=r"tfidf\.pkl: not written by emobench"),
        Case("tfidf: the model folder swapped for another run's", "run", "runs/tfidf",
             lambda f, ws: (shutil.rmtree(f / "model"), shutil.copytree(ws.root / "runs" / "multi" / "model", f / "model")),
             "cli", ["predict", "{f}", TEXT], mode="manifest", message=r"model/MANIFEST\.json: its sha256 differs"),
        Case("tfidf: an edit that changes nothing, allowed", "model", "runs/tfidf",
             in_model(json_edit(mj, lambda d: None)), "api", call=predictor, expect="ok",
             check=_labels_are(["joy", "anger"])),
        Case("multi-label: thresholds removed", "model", "runs/multi",
             in_model(json_edit(mj, lambda d: d["decision"].__setitem__("thresholds", d["decision"]["thresholds"][:1]))),
             "cli", ["predict", "{f}", TEXT], message=r"emobench_model\.json: field decision\.thresholds: 1 thresholds for 3 labels"),
        Case("multi-label: a threshold above 1", "model", "runs/multi",
             in_model(json_edit(mj, lambda d: d["decision"]["thresholds"].__setitem__(0, 1.5))), "api",
             call=predictor, message=r"emobench_model\.json: field decision\.thresholds\[0\]: Input should be less than or equal to 1"),
        Case("multi-label: no decision rule", "model", "runs/multi", in_model(field_of(mj, "decision", {})),
             "cli", ["predict", "{f}", TEXT], message=r"emobench_model\.json: field .*a multi-label model needs its thresholds"),
        Case("lstm: vocabulary words a string", "model", "runs/lstm",
             in_model(field_of("vocab.json", "words", "happy sad")), "cli", ["predict", "{f}", TEXT],
             message=r"vocab\.json: field words: Input should be a valid list"),
        Case("lstm: vocabulary one word short", "model", "runs/lstm",
             in_model(json_edit("vocab.json", lambda d: d["words"].pop())), "api", call=predictor,
             message=r"vocab\.json: field words: .* words, but the weights embed"),
        Case("lstm: vocabulary with a word twice", "model", "runs/lstm",
             in_model(json_edit("vocab.json", lambda d: d["words"].append(d["words"][2]))), "api",
             call=predictor, message=r"vocab\.json: field .*appears twice"),
        Case("lstm: vocabulary length negative", "model", "runs/lstm", in_model(field_of("vocab.json", "length", -3)),
             "cli", ["predict", "{f}", TEXT], message=r"vocab\.json: field length: Input should be greater than or equal to 1"),
        Case("lstm: vocabulary a symlink outside", "model", "runs/lstm", in_model(symlink_out("vocab.json", "secret.json")),
             "api", call=predictor, message=r"vocab\.json: .*symlink"),
        Case("lstm-paper: weights of another shape", "model", "runs/paper",
             in_model(copy_from("runs/lstm/model", "lstm.safetensors")), "cli", ["predict", "{f}", TEXT],
             message=r"lstm\.safetensors: .*(vocabulary|shape|tensors)"),
        Case("bert: config.json id2label permuted", "model", "runs/bert",
             lambda f, ws: json_edit("config.json", lambda d: d.__setitem__("id2label", dict(zip(sorted(d["id2label"]),
                                                                                                reversed(list(d["id2label"].values()))))))(f / "model", ws),
             "api", call=predictor, message=r"emobench_model\.json: field label_names: .*config\.json id2label"),
        Case("bert: problem_type contradicts the task", "model", "runs/bert",
             in_model(field_of("config.json", "problem_type", "multi_label_classification")), "cli",
             ["predict", "{f}", TEXT], message=r"config\.json: field problem_type"),
        Case("bert: tokenizer.json is {}", "model", "runs/bert", in_model(raw("tokenizer.json", "{}")), "api",
             call=predictor, message=r"tokenizer\.json: field model: expected a tokenizers tokenizer"),
        Case("bert: tokenizer.json not JSON", "model", "runs/bert", in_model(raw("tokenizer.json", "{oops")),
             "cli", ["predict", "{f}", TEXT], message=r"tokenizer\.json: the tokenizer is not valid JSON"),
        Case("bert: tokenizer_config.json nested 10,000 deep", "model", "runs/bert",
             in_model(deep("tokenizer_config.json")), "api", call=predictor,
             message=r"(tokenizer_config\.json|transformers cannot load)"),
        Case("static: token mapping out of bounds", "model", "runs/static",
             in_model(_tensor_edit("static.safetensors", "token_mapping", lambda a: a + 100_000)), "api", call=predictor,
             message=r"static\.safetensors: the token mapping points outside"),
        Case("static: classes that are not labels", "model", "runs/static",
             in_model(json_edit(mj, lambda d: d["info"].__setitem__("classes", ["pride", "shame", "awe"]))), "cli",
             ["predict", "{f}", TEXT], message=r"emobench_model\.json: field info\.classes"),
        Case("static: tokenizer.json is {}", "model", "runs/static", in_model(raw("tokenizer.json", "{}")), "api",
             call=predictor, message=r"tokenizer\.json: field model: expected a tokenizers tokenizer"),
        Case("static: embeddings of NaN", "model", "runs/static",
             in_model(_tensor_edit("static.safetensors", "embeddings.weight", lambda a: a * float("nan"))), "cli",
             ["predict", "{f}", TEXT], message=r"static\.safetensors: .*non-finite"),
        Case("setfit: a modules.json added", "model", "runs/setfit",
             lambda f, ws: raw("model/modules.json", '[{"type": "evil.Module", "path": ""}]')(f, ws), "api", call=predictor,
             mode="manifest", message=r"modules\.json: not written by emobench"),
        Case("setfit: head of another shape", "model", "runs/setfit",
             in_model(_tensor_edit("features_head.safetensors", "coef", lambda a: a[:, :5])), "cli", ["predict", "{f}", TEXT],
             message=r"(features_head\.safetensors|cannot be loaded)"),
        Case("majority: label shares above 1", "model", "runs/majority",
             in_model(_tensor_edit("baseline.safetensors", "shares", lambda a: a + 2)), "api", call=predictor,
             message=r"baseline\.safetensors: label shares .* are not shares"),
        Case("majority: a tensor missing", "model", "runs/majority",
             in_model(_tensor_edit("baseline.safetensors", "seed", None)), "cli", ["predict", "{f}", TEXT],
             message=r"baseline\.safetensors: expected the tensors shares"),
        Case("bert: a file added to the model folder", "model", "runs/bert",
             lambda f, ws: raw("model/added_tokens.json", '{"hello": 5}')(f, ws), "api", call=predictor, mode="manifest",
             message=r"added_tokens\.json: not written by emobench"),
    ]
    return c

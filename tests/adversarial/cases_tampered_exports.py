"""Tampered ONNX exports (fp32 and int8; LSTM, lstm-paper, BERT), through `predict`, the Predictor and the service:
label names, graphs, vocabularies and tokenizers swapped, paths pointing outside the folder, export records
edited."""
from __future__ import annotations

import shutil

from .harness import TamperedCase as Case
from .helpers import TEXT, copy_from, deep, field_of, json_edit, labels, predictor, raw, service, symlink_out, truncate


def onnx_prep(key: str, value):
    """A key of the export's ONNX preprocessing set to ``value``."""
    return json_edit("emobench_model.json", lambda d: d["onnx"]["preprocess"].__setitem__(key, value))


def cases() -> list[Case]:
    c: list[Case] = []
    mj = "emobench_model.json"
    # -------- exports (fp32 and int8), through predict, the Predictor and the service
    ex = "exports/lstm"
    c += [
        Case("export: label names permuted (manifest)", "export", ex, labels(lambda n: n[::-1]), "cli", ["predict", "{f}", TEXT],
             mode="manifest", message=r"emobench_model\.json: .*(sha256 differs|bytes, but)"),
        Case("export: label names permuted", "export", ex, labels(lambda n: n[::-1]), "api", call=predictor,
             message=r"emobench_model\.json: field label_names: .* differ from the labels model\.int8\.onnx was exported with"),
        Case("export: one label name too many", "export", ex, labels(lambda n: [*n, "pride"]), "cli", ["predict", "{f}", TEXT],
             message=r"emobench_model\.json: field label_names: 7 label names, but the model computes 6 outputs"),
        Case("export: label names numbers", "export", "exports/bert", labels(lambda n: [1, 2, 3]), "service", call=service,
             message=r"emobench_model\.json: field label_names\[0\]: Input should be a valid string"),
        Case("export: temperature Infinity", "export", ex, field_of(mj, "temperature", float("inf")), "api", call=predictor,
             message=r"emobench_model\.json: the model description is not valid JSON \(Infinity"),
        Case("export: temperature 1e-320", "export", "exports/bert", field_of(mj, "temperature", 1e-320), "cli",
             ["predict", "{f}", TEXT], message=r"emobench_model\.json: field temperature"),
        Case("export: model.onnx from another export (manifest)", "export", "exports/paper", copy_from("exports/lstm", "model.onnx"),
             "cli", ["predict", "{f}", TEXT], mode="manifest", message=r"model\.onnx: .*(sha256 differs|bytes, but)"),
        Case("export: model.onnx from another export", "export", "exports/paper", copy_from("exports/lstm", "model.onnx"), "api",
             call=predictor, message=r"model\.onnx: not a graph of this export"),
        Case("export: int8 graph from the BERT export", "export", ex, copy_from("exports/bert", "model.int8.onnx"), "cli",
             ["predict", "{f}", TEXT], message=r"field onnx\.inputs: the graph model\.int8\.onnx needs|not the vocabulary"),
        Case("export: vocabulary words a string", "export", ex, field_of("vocab.json", "words", "happy"), "api", call=predictor,
             message=r"vocab\.json: (field words: Input should be a valid list|not the vocabulary)"),
        Case("export: vocabulary from another run", "export", "exports/paper", copy_from("exports/lstm", "vocab.json"), "cli",
             ["predict", "{f}", TEXT], message=r"vocab\.json: not the vocabulary model\.onnx was exported with"),
        Case("export: vocabulary an absolute path", "export", ex, onnx_prep("vocabulary", "/etc/passwd"), "api", call=predictor,
             message=r"emobench_model\.json: field onnx\.preprocess\.vocabulary\.vocabulary: .*plain file name"),
        Case("export: vocabulary ../outside", "export", ex, onnx_prep("vocabulary", "../../outside/secret.json"), "cli",
             ["predict", "{f}", TEXT], message=r"emobench_model\.json: field onnx\.preprocess\.vocabulary\.vocabulary: .*plain file name"),
        Case("export: vocabulary a symlink outside", "export", ex, symlink_out("vocab.json", "secret.json"), "api", call=predictor,
             mode="legacy", message=r"vocab\.json: .*symlink"),
        Case("export: tokenizer ../outside", "export", "exports/bert", onnx_prep("tokenizer", "../../outside/tokenizer.json"),
             "api", call=predictor, message=r"emobench_model\.json: field onnx\.preprocess\.tokenizer\.tokenizer: .*plain file name"),
        Case("export: tokenizer an absolute path", "export", "exports/bert", onnx_prep("tokenizer", "/tmp/tokenizer.json"),
             "cli", ["predict", "{f}", TEXT], message=r"field onnx\.preprocess\.tokenizer\.tokenizer: .*plain file name"),
        Case("export: onnx.file absolute", "export", ex,
             json_edit(mj, lambda d: d["onnx"].update(file="/work/outside/model.onnx")), "api", call=predictor,
             message=r"emobench_model\.json: field onnx\.file: .*plain file name"),
        Case("export: onnx.files ../outside", "export", ex,
             json_edit(mj, lambda d: d["onnx"].update(file="../outside.onnx", files={"fp32": "../outside.onnx"})), "cli",
             ["predict", "{f}", TEXT], message=r"emobench_model\.json: field onnx\.files?(\.fp32)?: .*plain file name"),
        Case("export: pad values missing", "export", ex, onnx_prep("pad_values", {}), "api", call=predictor,
             message=r"emobench_model\.json: field onnx\.preprocess\.pad_values: no pad value for input_ids"),
        Case("export: fixed length negative", "export", "exports/paper", onnx_prep("length", -5), "cli", ["predict", "{f}", TEXT],
             message=r"emobench_model\.json: field onnx\.preprocess\.vocabulary\.length: Input should be greater than or equal to 1"),
        Case("export: unknown preprocessing kind", "export", ex, onnx_prep("kind", "sentencepiece"), "api", call=predictor,
             message=r"emobench_model\.json: field onnx\.preprocess: Input tag 'sentencepiece'"),
        Case("export: an unknown graph input", "export", ex, json_edit(mj, lambda d: d["onnx"]["inputs"].append("pixels")), "cli",
             ["predict", "{f}", TEXT], message=r"emobench_model\.json: field onnx\.inputs\[2\]"),
        Case("export: task contradicts export.json", "export", ex, field_of("export.json", "task", "multi_label"), "api",
             call=predictor, message=r"export\.json: field task: 'multi_label', but emobench_model\.json says 'single_label'"),
        Case("export: export.json says the checks failed", "export", ex, field_of("export.json", "passed", False), "cli",
             ["predict", "{f}", TEXT], message=r"export\.json: field passed: the export did not pass its checks"),
        Case("export: export.json nested 10,000 deep", "export", ex, deep("export.json"), "api", call=predictor,
             message=r"export\.json: the export record is JSON nested too deeply"),
        Case("export: tokenizer.json is {}", "export", "exports/bert", raw("tokenizer.json", "{}"), "cli",
             ["predict", "{f}", TEXT], message=r"tokenizer\.json: (field model: expected a tokenizers tokenizer|not the tokenizer)"),
        Case("export: tokenizer.json not JSON", "export", "exports/bert", raw("tokenizer.json", "not json"), "api",
             call=predictor, message=r"tokenizer\.json: (the tokenizer is not valid JSON|not the tokenizer)"),
        Case("export: tokenizer from another model", "export", "exports/bert",
             lambda f, ws: shutil.copy(ws.root / "tiny-bert" / "tokenizer.json", f / "tokenizer.json"), "service", call=service,
             message=r"tokenizer\.json: not the tokenizer model\.int8\.onnx was exported with"),
        Case("export: int8 graph truncated (manifest)", "export", ex, truncate("model.int8.onnx"), "cli", ["predict", "{f}", TEXT],
             mode="manifest", message=r"model\.int8\.onnx: .*bytes, but"),
        Case("export: int8 graph truncated", "export", ex, truncate("model.int8.onnx"), "api", call=predictor,
             message=r"model\.int8\.onnx: ONNX Runtime cannot load it"),
        Case("export: graph removed (no manifest)", "export", ex, lambda f, ws: (f / "model.int8.onnx").unlink(), "cli",
             ["predict", "{f}", TEXT], mode="legacy", message=r"model\.int8\.onnx: the ONNX model is missing"),
        Case("export: a file added", "export", ex, raw("extra.onnx", b"x"), "api", call=predictor, mode="manifest",
             message=r"extra\.onnx: not written by emobench"),
        Case("export: unfinished (.partial)", "export", ex, None, "cli", ["predict", "{f}.partial", TEXT], mode="manifest",
             message=r"\.partial: an unfinished run or export"),
    ]
    return c

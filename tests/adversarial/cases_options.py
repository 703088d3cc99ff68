"""Bad training options: ``--set`` values out of range for each family, unknown models and presets, a negative
seed, a missing GloVe file."""
from __future__ import annotations

from .harness import Case
from .helpers import train_args


def lstm_set(*pairs):
    """``--set`` for a tiny LSTM without GloVe, and ``pairs``."""
    keys = {pair.split("=")[0] for pair in pairs}
    out = []
    for pair in [*(p for p in ("epochs=1", "hidden_size=4", "glove=none") if p.split("=")[0] not in keys), *pairs]:
        out += ["--set", pair]
    return out


def cases() -> list[Case]:
    c: list[Case] = []
    bad_sets = [
        ("tfidf", "C=0", r"parameter C=0 .*expected a number > 0"),
        ("tfidf", "C=-1", r"parameter C=-1 .*> 0"),
        ("tfidf", "C=abc", r"parameter C='abc' .*expected a number"),
        ("tfidf", "char_ngram_min=7", r"char_ngram_min=7 and char_ngram_max=6: expected char_ngram_min <= char_ngram_max"),
        ("tfidf", "word_ngram_max=0", r"parameter word_ngram_max=0 .*>= 1"),
        ("tfidf", "classifier=forest", r"parameter classifier='forest' .*'svm' or 'logreg'"),
        ("tfidf", "class_weight=weird", r"parameter class_weight='weird' .*'balanced' or none"),
        ("tfidf", "hidden_size=8", r"unknown parameter 'hidden_size' for TfidfParams"),
        ("tfidf", "max_iter=0", r"parameter max_iter=0"),
        ("lstm", "learning_rate=0", r"parameter learning_rate=0 .*> 0"),
        ("lstm", "learning_rate=-1", r"parameter learning_rate=-1 "),
        ("lstm", "learning_rate=nan", r"parameter learning_rate=nan"),
        ("lstm", "learning_rate=inf", r"parameter learning_rate=inf"),
        ("lstm", "batch_size=0", r"parameter batch_size=0 .*>= 1"),
        ("lstm", "batch_size=2.5", r"parameter batch_size=2\.5 .*an integer"),
        ("lstm", "epochs=0", r"parameter epochs=0 .*>= 1"),
        ("lstm", "dropout=1", r"parameter dropout=1 .*< 1"),
        ("lstm", "dropout=-0.5", r"parameter dropout=-0\.5 .*>= 0"),
        ("lstm", "metric=auc", r"parameter metric='auc' .*'macro_f1' or 'accuracy'"),
        ("lstm", "optimizer=sgd", r"parameter optimizer='sgd' .*'adamw' or 'adam'"),
        ("lstm", "scheduler=cosine", r"parameter scheduler='cosine'"),
        ("lstm", "warmup_ratio=1.5", r"parameter warmup_ratio=1\.5"),
        ("lstm", "patience=-1", r"parameter patience=-1"),
        ("lstm", "architecture=gru", r"parameter architecture='gru'"),
        ("lstm", "num_layers=0", r"parameter num_layers=0"),
        ("lstm", "cpu=maybe", r"parameter cpu='maybe' .*true or false"),
        ("minilm", "mode=zero-shot", r"parameter mode='zero-shot' .*'finetune' or 'features'"),
        ("minilm", "pooling=max", r"parameter pooling='max'"),
        ("minilm", "max_length=0", r"parameter max_length=0"),
    ]
    for model, pair, message in bad_sets:
        c.append(Case(f"--set {pair} ({model})", train_args("--set", pair, model=model), message=message, group="training options"))
    c += [
        Case("unknown model", train_args(model="bert-large-magic"), message=r"unknown model 'bert-large-magic'", group="training options"),
        Case("hf: without a name", train_args(model="hf:"), message=r"model 'hf:' needs a hub id", group="training options"),
        Case("hf: missing directory", train_args(model="hf:{case}/no-model"), message=r"pretrained=.*no-model: no such model folder",
             env={"HF_HUB_OFFLINE": "1"}, group="training options"),
        Case("an option given twice", train_args("--seed", "1", "--seed", "2"), message=r"--seed is given twice; give it once",
             group="training options"),
        Case("a global option given twice", ["--threads", "2", "--threads", "1", "models"],
             message=r"--threads is given twice; give it once", group="training options"),
        Case("a seed in Arabic-Indic digits", train_args("--seed", "\u0663"), message=r"--seed '\u0663': expected a seed .* in "
             r"ASCII digits", group="training options"),
        Case("--threads past 4,096", ["--threads", "99999", "models"], message=r"--threads '99999': expected a number of "
             r"threads from 1 to 4,096", group="training options"),
        Case("a huge LSTM", train_args("--set", "hidden_size=65536", "--set", "glove=none", "--set", "epochs=1", model="lstm"),
             message=r"not enough memory to train lstm with these sizes", group="training options"),
        Case("an hf: path that climbs out", train_args(model="hf:../../no-such-folder"),
             message=r"pretrained=../../no-such-folder: no such model folder", group="training options"),
        Case("an empty body", train_args("--set", "body=", model="setfit"), message=r"parameter body='' .*expected a string \(not empty\)",
             group="training options"),
        Case("a numeric option given NaN", train_args("--split-seed", "nan"), message=r"--split-seed 'nan': expected a seed",
             group="training options"),
        Case("a metrics file in a folder that does not exist", ["evaluate", "{ws}/runs/tfidf-run", "--json", "{case}/no/m.json"],
             message=r"--json .*no/m\.json: the folder .*no does not exist", group="training options"),
        Case("tracking into a file", train_args("--track", "tensorboard", "-o", "{case}/f"),
             message=r"is a file; expected a folder", setup=lambda d, ws: (d / "f").write_text("x"), group="training options"),
        Case("--set without =", train_args("--set", "nonsense"), message=r"--set 'nonsense': expected key=value", group="training options"),
        Case("unknown preset", train_args("--preset", "turbo"), message=r"model 'tfidf' has no preset 'turbo'", group="training options"),
        Case("negative seed", train_args("--seed", "-1"), message=r"--seed -1: expected a seed from 0 to", group="training options"),
        Case("missing GloVe file", train_args(*lstm_set("glove={case}/none.txt"), model="lstm"),
             message=r"GloVe file .*none\.txt not found", group="training options"),
    ]
    # -------- unlabeled texts and label descriptions (tests/test_unlabeled_inputs.py reads every bad file)
    text = lambda d, ws: (d / "u.txt").write_text("a text\n")  # noqa: E731
    c += [
        Case("--unlabeled rest without a budget", train_args("--unlabeled", "rest"),
             message=r"--unlabeled rest is the training texts a data budget leaves out; it needs --train-size",
             group="fit inputs"),
        Case("--unlabeled for a family that does not learn from it", train_args("--unlabeled", "{case}/u.txt"), setup=text,
             message=r"--unlabeled: the tfidf family does not learn from texts without labels", group="fit inputs"),
        Case("--label-descriptions for a family that does not learn from them",
             train_args("--label-descriptions", "{case}/u.txt"), setup=text,
             message=r"--label-descriptions: the tfidf family does not learn from label descriptions", group="fit inputs"),
        Case("--unlabeled empty", train_args("--unlabeled", ""), message=r"--unlabeled '': expected a text file",
             group="fit inputs"),
        Case("--unlabeled with no labelled texts",
             train_args("--unlabeled", "{case}/u.txt", "--train-size", "0", model="fewshot"), setup=text,
             message=r"--unlabeled with --train-size 0: a model trained on no labelled texts learns nothing from texts "
                     r"without labels", group="fit inputs"),
        Case("--unlabeled to a comparison none of whose models learns from it",
             ["compare", "--models", "tfidf", "--data-dir", "{ws}/data", "-o", "{case}/c", "--unlabeled", "{case}/u.txt"],
             setup=text, message=r"--unlabeled: none of the compared models \(tfidf\) learns from it", group="fit inputs"),
        Case("--unlabeled rest with the whole training split in a comparison",
             ["compare", "--models", "fewshot", "--data-dir", "{ws}/data", "-o", "{case}/c", "--unlabeled", "rest",
              "--train-sizes", "8,all"], message=r"--unlabeled rest .*needs --train-size", group="fit inputs"),
        Case("--unlabeled on tune for a family that does not learn from it",
             ["tune", "--model", "tfidf", "--data-dir", "{ws}/data", "-o", "{case}/t", "--unlabeled", "{case}/u.txt"],
             setup=text, message=r"--unlabeled: the tfidf family does not learn from", group="fit inputs"),
        Case("--unlabeled on data audit", ["data", "audit", "--data-dir", "{ws}/data", "--unlabeled", "rest"],
             message=r"No such option: --unlabeled", group="fit inputs"),
    ]
    return c

"""Tiny, randomly initialised models of each architecture with a real tokenizer of its kind, trained in
seconds on the given texts and saved as Hugging Face model directories (the hub is not reachable)."""
from __future__ import annotations

from pathlib import Path

SMALL = dict(hidden=32, layers=2, heads=2, ffn=64)


def _wordpiece_vocab(texts, folder: Path) -> Path:
    """A WordPiece vocabulary written here, not trained by `tokenizers`: its trainer breaks frequency ties in hash
    order, which differs from one process to the next (so did the tiny models' scores)."""
    import collections
    import re

    words = collections.Counter(w for t in texts for w in re.findall(r"\w+|[^\w\s]", t.lower()))
    chars = sorted({c for w in words for c in w})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *("##" + c for c in chars)]
    vocab += [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])) if w not in vocab][: max(0, 400 - len(vocab))]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return folder / "vocab.txt"


def _seeded(build):
    """Each tiny model from seed 0: its weights never depend on which tests ran before (the global RNG)."""
    def wrapped(texts, folder: Path) -> Path:
        import torch

        torch.manual_seed(0)
        return build(texts, folder)
    wrapped.__name__ = build.__name__
    return wrapped


def _save(model, tokenizer, folder: Path) -> Path:
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_bert(texts, folder: Path) -> Path:
    from transformers import BertConfig, BertModel, BertTokenizerFast

    _wordpiece_vocab(texts, folder)
    tokenizer = BertTokenizerFast.from_pretrained(str(folder))  # transformers 5 ignores a vocab_file argument
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=SMALL["hidden"], num_hidden_layers=SMALL["layers"],
                        num_attention_heads=SMALL["heads"], intermediate_size=SMALL["ffn"], max_position_embeddings=128)
    return _save(BertModel(config), tokenizer, folder)


def build_distilbert(texts, folder: Path) -> Path:
    from transformers import DistilBertConfig, DistilBertModel, DistilBertTokenizerFast

    _wordpiece_vocab(texts, folder)
    tokenizer = DistilBertTokenizerFast.from_pretrained(str(folder))
    config = DistilBertConfig(vocab_size=tokenizer.vocab_size, dim=SMALL["hidden"], n_layers=SMALL["layers"],
                              n_heads=SMALL["heads"], hidden_dim=SMALL["ffn"], max_position_embeddings=128)
    return _save(DistilBertModel(config), tokenizer, folder)


def build_roberta(texts, folder: Path) -> Path:
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=500, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    folder.mkdir(parents=True, exist_ok=True)
    bpe.save_model(str(folder))
    tokenizer = RobertaTokenizerFast.from_pretrained(str(folder))
    config = RobertaConfig(vocab_size=tokenizer.vocab_size, hidden_size=SMALL["hidden"], num_hidden_layers=SMALL["layers"],
                           num_attention_heads=SMALL["heads"], intermediate_size=SMALL["ffn"],
                           max_position_embeddings=130, pad_token_id=tokenizer.pad_token_id, type_vocab_size=1)
    return _save(RobertaModel(config), tokenizer, folder)


def build_xlnet(texts, folder: Path) -> Path:
    import sentencepiece as spm
    from transformers import XLNetConfig, XLNetModel, XLNetTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    # XLNet's special pieces, as in xlnet-base-cased's spiece.model.
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_prefix=str(folder / "spiece"), vocab_size=100, model_type="unigram", hard_vocab_limit=False,
        user_defined_symbols=["<cls>", "<sep>", "<pad>", "<mask>", "<eod>", "<eop>"],
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2,
    )
    tokenizer = XLNetTokenizer.from_pretrained(str(folder))
    config = XLNetConfig(vocab_size=len(tokenizer), d_model=SMALL["hidden"], n_layer=SMALL["layers"],
                         n_head=SMALL["heads"], d_inner=SMALL["ffn"], pad_token_id=tokenizer.pad_token_id)
    return _save(XLNetModel(config), tokenizer, folder)


build_bert, build_distilbert, build_roberta, build_xlnet = map(_seeded, (build_bert, build_distilbert, build_roberta,
                                                                   build_xlnet))
BUILDERS = {"bert": build_bert, "distilbert": build_distilbert, "roberta": build_roberta, "xlnet": build_xlnet}

"""The LSTM's tokenizer and vocabulary (pure Python: ONNX inference uses them without torch)."""
from __future__ import annotations

import re
from collections import Counter

PAD, UNK = "<pad>", "<unk>"
# Keras' Tokenizer default filters: the seed study's tokenizer.
_FILTERS = re.compile(r"[!\"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~\t\n]")


def tokenize(text: str) -> list[str]:
    return _FILTERS.sub(" ", text.lower()).split()


class Vocabulary:
    def __init__(self, words: list[str]):
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}

    @classmethod
    def build(cls, texts: list[str], min_freq: int = 1, max_size: int | None = None) -> "Vocabulary":
        counts = Counter(token for text in texts for token in tokenize(text))
        ranked = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        return cls([PAD, UNK] + ranked[:max_size])

    def encode(self, text: str) -> list[int]:
        return [self.index.get(token, 1) for token in tokenize(text)] or [1]

    def __len__(self):
        return len(self.words)

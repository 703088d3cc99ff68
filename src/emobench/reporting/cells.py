"""What every section of the report shares: which cells are bold, how a model is named, and a few words."""
from __future__ import annotations

def _a_best(best: float, lower: bool) -> bool:
    """Bold marks a best: a column where the highest score is 0 (every model scores nothing) has none."""
    return lower or round(best, 4) > 0


def best_cells(values: list[list[float | None]], start_col: int, lower: set[int] = frozenset()) -> set[tuple[int, int]]:
    """(row, column) of the best value in each column (lowest for the columns in ``lower``); ties at a real best all
    bold, a column whose best is 0 (higher is better) none."""
    cells = set()
    if not values:
        return cells
    for j in range(len(values[0])):
        column = [row[j] for row in values if row[j] is not None]
        if not column:
            continue
        best = min(column) if j in lower else max(column)
        if not _a_best(best, j in lower):
            continue
        for i, row in enumerate(values):
            if row[j] is not None and round(row[j], 4) == round(best, 4):
                cells.add((i, j + start_col))
    return cells


def best_in_rows(values: list[list[float]], groups: int, start_col: int, skip: set[int] = frozenset()) -> set[tuple[int, int]]:
    """For tables with models as column groups: the best of each metric across models, per row (``skip``: groups
    that are never bold, the baselines)."""
    cells = set()
    for i, row in enumerate(values):
        per_model = len(row) // groups
        for k in range(per_model):
            column = [row[g * per_model + k] for g in range(groups)]
            candidates = [v for g, v in enumerate(column) if g not in skip]
            if not candidates:
                continue
            best = max(candidates)
            if not _a_best(best, False):
                continue
            cells |= {(i, start_col + g * per_model + k) for g in range(groups)
                      if g not in skip and round(column[g], 4) == round(best, 4)}
    return cells


def model_label(m) -> str:
    return f"{m.name} (baseline)" if m.baseline else m.name


def not_baselines(values: list[list], models) -> list[list]:
    """The values with the baselines' rows blanked: a baseline is never the column's best."""
    return [[None] * len(row) if m.baseline else row for row, m in zip(values, models)]


def clip(text: str, width: int = 140) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def lower_first(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:] if sentence[:4] == "The " else sentence

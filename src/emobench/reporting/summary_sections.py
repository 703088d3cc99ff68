"""The report's first section: its answer before its evidence -- the best model with its interval, whether it is
significantly better than the runner-up and than the majority baseline, the models that learnt nothing visible, the
label-noise estimate and the data's main warnings. Every sentence is read off the analysis the later sections show."""
from __future__ import annotations

import re

from ..evaluation.analysis import Comparison, NoiseAnalysis
from .cells import clip
from .render import Bullets, Heading
from .score_sections import conclusions

MAIN_WARNINGS = 3  # data warnings named in the summary; the "Data" section lists them all


def summary_blocks(c: Comparison, noise: NoiseAnalysis | None, warnings: list[str], noise_note: str) -> list:
    lines = conclusions(c)
    lines.append(_noise_sentence(noise, noise_note))
    if warnings:
        main = _main_warnings(warnings)
        shown = "; ".join(clip(w, 220) for w in main[:MAIN_WARNINGS])
        more = f" (all {len(warnings)} under \"Data\")" if len(main) > MAIN_WARNINGS or len(main) < len(warnings) else ""
        lines.append(f"The data: {shown}{more}.")
    else:
        lines.append("The data: the audit found no duplicates, conflicting labels, leakage or placeholders.")
    return [Heading(2, "Summary"), Bullets(lines)]


# What can make a score wrong comes first: texts shared between splits, then conflicting labels.
FIRST = (r"appear in both|leakage", r"conflicting")


def _main_warnings(warnings: list[str]) -> list[str]:
    """The data's warnings, the most telling first (leakage, conflicting labels), those of the same kind about several
    files said once (a checksum per split file)."""
    differ = [w for w in warnings if re.search(r": sha256 \S+ differs from the published", w)]
    rest = [w for w in warnings if w not in differ]
    if len(differ) > 1:
        rest.append(f"{len(differ)} data files differ from the published ones (sha256): results will not be "
                    "comparable with published numbers")
    else:
        rest += differ
    rank = lambda w: next((k for k, pattern in enumerate(FIRST) if re.search(pattern, w)), len(FIRST))  # noqa: E731
    return sorted(rest, key=rank)


def _noise_sentence(noise: NoiseAnalysis | None, note: str) -> str:
    if noise is None:
        return f"Label noise in the test split: not estimated ({note})."
    share = 100 * noise.flagged / max(noise.total, 1)
    gap = max((s for s in noise.scores if not s.baseline), key=lambda s: s.all["macro_f1"].value, default=None)
    clean = (f"; the best model scores macro-F1 {gap.unflagged['macro_f1'].value:.4f} on the unflagged texts against "
             f"{gap.all['macro_f1'].value:.4f} on all" if gap is not None and noise.flagged else "")
    return (f"Label noise in the test split: {noise.flagged} of {noise.total} texts ({share:.1f}%) flagged as likely "
            f"mislabelled ({noise.method.split(',')[0]}){clean}.")

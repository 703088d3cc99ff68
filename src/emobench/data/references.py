"""Published reference numbers (shared/docs/reference-results.md): a dataset's registry entry names the results the
report sets beside a comparison on it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishedResults:
    """A publication's test scores: accuracy and (precision, recall, F1) per class, per model."""

    title: str  # the report section's heading
    note: str  # how its numbers relate to ours
    accuracy: dict[str, float]
    per_class: dict[str, dict[str, tuple[float, float, float]]]


# Reference paper, ISEAR (7 classes), same hyper-parameters for all models: accuracy and Table 2
# (precision, recall, F1 per class).
ISEAR_PAPER = PublishedResults(
    title="Against the reference paper (ISEAR)",
    note="The paper's Table 2 (its own split, batch 16, 10 epochs, lr 4e-5) beside ours (emobench's stratified split): "
         "different test sets, so read the comparison as orientation, not a paired test.",
    accuracy={"RoBERTa": 0.7431, "XLNet": 0.7299, "BERT": 0.7009, "DistilBERT": 0.6693},
    per_class={
        "BERT": {"anger": (.56, .57, .57), "disgust": (.71, .63, .67), "fear": (.74, .76, .75), "guilt": (.65, .69, .67),
                 "joy": (.84, .91, .88), "sadness": (.76, .80, .78), "shame": (.63, .57, .60)},
        "RoBERTa": {"anger": (.67, .59, .62), "disgust": (.76, .69, .73), "fear": (.80, .81, .80), "guilt": (.62, .76, .68),
                    "joy": (.90, .96, .93), "sadness": (.77, .81, .79), "shame": (.69, .62, .65)},
        "DistilBERT": {"anger": (.52, .57, .55), "disgust": (.69, .65, .67), "fear": (.70, .76, .73), "guilt": (.63, .60, .61),
                       "joy": (.88, .81, .85), "sadness": (.76, .80, .78), "shame": (.54, .51, .52)},
        "XLNet": {"anger": (.59, .57, .58), "disgust": (.69, .73, .71), "fear": (.76, .81, .78), "guilt": (.70, .72, .71),
                  "joy": (.91, .93, .92), "sadness": (.76, .81, .79), "shame": (.69, .57, .63)},
    },
)

# dair-ai emotion, test split: accuracy (and macro-F1 where published) of fine-tuned models.
EMOTION_TEST = {
    "roberta-base": (0.931, 0.882), "distilbert-base-uncased": (0.927, 0.883), "bert-base-uncased": (0.9265, None),
    "MiniLM-L12-H384": (0.9135, 0.861), "BiLSTM (class-weighted)": (0.9245, None),
    "TF-IDF + logistic regression": (0.869, 0.81), "majority class": (0.352, None),
}

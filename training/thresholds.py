"""Each head's confidence threshold: the lowest probability at which the predictions it keeps reach a precision.

`stance train` chooses them on the dev split plus the dev rows of every public set it finds (`--public-dev`,
`$STANCE_PUBLIC_DATA`), not on the corpus's own register alone; without public data, on the dev split alone. The
manifest's `threshold_data` says which rows they were chosen on.
"""

from __future__ import annotations

import numpy

from service.model.bundle import Bundle
from service.model.predict import predict
from training.examples import Example


def confidence_threshold(scores: list[float], correct: list[bool], precision: float) -> float:
    """The lowest probability at which the predictions kept (probability at least that) reach `precision`.

    0 when every prediction together already does; the highest probability seen when none can.
    """
    order = numpy.argsort(-numpy.asarray(scores), kind="stable")
    ranked_scores = numpy.asarray(scores)[order]
    kept_accuracy = numpy.cumsum(numpy.asarray(correct)[order]) / numpy.arange(1, len(order) + 1)
    reaching = numpy.flatnonzero(kept_accuracy >= precision)
    if not len(reaching):
        return float(ranked_scores[0]) if len(ranked_scores) else 0.0
    if reaching[-1] == len(order) - 1:
        return 0.0
    return float(ranked_scores[reaching[-1]])


def thresholds_on(bundle: Bundle, dev: list[Example], precision: float) -> dict[str, float]:
    """Each head's confidence threshold, chosen on the dev rows labeled for it."""
    predictions = predict(bundle, [ex.text for ex in dev])
    thresholds = {}
    for head in bundle.scorer.classes:
        # Right is the served label (plain argmax) equal to the gold, even where the gold lacks a label (CAMEO has
        # no `economic`): `confident` vouches for the label served, not for one restricted to the gold's labels.
        pairs = [(ex.labels[head], p[head]) for ex, p in zip(dev, predictions, strict=True) if head in ex.labels]
        if pairs:
            thresholds[head] = confidence_threshold(
                [result["score"] for _, result in pairs], [gold == result["label"] for gold, result in pairs], precision
            )
    return thresholds


def threshold_rows(train: list[Example], dev: list[Example], public_dev: list[Example]) -> list[Example]:
    """The dev split plus the public rows marked `dev` whose text is neither trained on nor in the dev split already,
    so no training, test or doubly counted row chooses a threshold."""
    seen = {ex.text for ex in [*train, *dev]}
    return [*dev, *(ex for ex in public_dev if ex.split == "dev" and ex.text not in seen)]

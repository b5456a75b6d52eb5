"""Score a bundle on labeled examples through the same `predict` the service uses, and write reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from service.model.bundle import HEADS, Bundle
from service.model.predict import predict
from training.examples import Example


def score_head(gold: list[str], predicted: list[str], labels: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 (over labels seen in gold or predictions), per-class figures and the confusion matrix."""
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    return {
        "n": len(gold),
        "accuracy": float(accuracy_score(gold, predicted)),
        "macro_f1": float(f1_score(gold, predicted, average="macro", zero_division=0)),
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "confusion": {"labels": labels, "matrix": confusion_matrix(gold, predicted, labels=labels).tolist()},
    }


CALIBRATION_BINS = 10


def calibration(confidences: list[float], correct: list[bool], bins: int = CALIBRATION_BINS) -> dict[str, Any]:
    """Expected calibration error of the chosen label's probability, and the reliability table behind it."""
    confidence, hit = np.asarray(confidences), np.asarray(correct, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap = abs(hit[inside].mean() - confidence[inside].mean())
            ece += inside.mean() * gap
            table.append(
                {
                    "from": float(edges[b]),
                    "to": float(edges[b + 1]),
                    "n": int(inside.sum()),
                    "confidence": float(confidence[inside].mean()),
                    "accuracy": float(hit[inside].mean()),
                }
            )
    return {"ece": float(ece), "bins": table}


def chosen_label(scores: dict[str, float], allowed: set[str] | None) -> str:
    """The most probable label, among `allowed` when given."""
    candidates = [label for label in scores if allowed is None or label in allowed]
    return max(candidates, key=scores.__getitem__)


def evaluate(bundle: Bundle, examples: list[Example], restrict_to_gold_labels: bool = False) -> dict[str, Any]:
    """Per head present in both the examples and the bundle: the scores of `score_head` and calibration.

    With `restrict_to_gold_labels`, each prediction is the most probable label among those the gold set uses,
    for scoring a model on a set whose labels cover only part of a head.
    """
    predictions = predict(bundle, [example.text for example in examples])
    report: dict[str, Any] = {"model": bundle.version, "restrict_to_gold_labels": restrict_to_gold_labels, "heads": {}}
    for head in bundle.scorer.classes:
        rows = [
            (ex.labels[head], pred[head]) for ex, pred in zip(examples, predictions, strict=True) if head in ex.labels
        ]
        if not rows:
            continue
        gold = [label for label, _ in rows]
        allowed = set(gold) if restrict_to_gold_labels else None
        predicted = [chosen_label(result["scores"], allowed) for _, result in rows]
        report["heads"][head] = score_head(gold, predicted, list(HEADS[head]))
        report["heads"][head]["calibration"] = calibration(
            [result["scores"][label] for (_, result), label in zip(rows, predicted, strict=True)],
            [g == p for g, p in zip(gold, predicted, strict=True)],
        )
    return report


def write_report(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write report.json, report.md and one confusion-matrix PNG per head; return the paths written."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "report.json", out_dir / "report.md"]
    written[0].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    written[1].write_text(render_markdown(report), encoding="utf-8")
    for head, scores in report["heads"].items():
        figure, axes = plt.subplots(figsize=(6, 5))
        ConfusionMatrixDisplay(
            confusion_matrix=np.array(scores["confusion"]["matrix"]),
            display_labels=scores["confusion"]["labels"],
        ).plot(ax=axes, colorbar=False, xticks_rotation=45)
        axes.set_title(f"{head}: macro-F1 {scores['macro_f1']:.3f}, n={scores['n']}")
        figure.tight_layout()
        path = out_dir / f"confusion_{head}.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
        written.append(plot_reliability(head, scores["calibration"], out_dir / f"reliability_{head}.png"))
    return written


def plot_reliability(head: str, calibration: dict[str, Any], path: Path) -> Path:
    """Reliability diagram: accuracy against confidence per bin; the diagonal is perfect calibration."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    bins = calibration["bins"]
    axes.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", label=head)
    axes.set(
        xlabel="probability of the chosen label",
        ylabel="accuracy",
        xlim=(0, 1),
        ylim=(0, 1),
        title=f"{head}: ECE {calibration['ece']:.3f}",
    )
    axes.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def render_markdown(report: dict[str, Any]) -> str:
    lines = [f"# Evaluation of model {report['model']}", ""]
    if "data" in report:
        lines += [
            f"Data: {', '.join(report['data'])}" + (f" (split {report['split']})" if report.get("split") else ""),
            "",
        ]
    if report.get("restrict_to_gold_labels"):
        lines += ["Predictions restricted to the labels present in the gold set.", ""]
    lines += ["| head | n | accuracy | macro-F1 | ECE |", "|---|---:|---:|---:|---:|"]
    for head, scores in report["heads"].items():
        lines.append(
            f"| {head} | {scores['n']} | {scores['accuracy']:.3f} | {scores['macro_f1']:.3f} "
            f"| {scores['calibration']['ece']:.3f} |"
        )
    for head, scores in report["heads"].items():
        lines += ["", f"## {head}", "", "| label | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
        for label, f in scores["per_class"].items():
            lines.append(f"| {label} | {f['precision']:.3f} | {f['recall']:.3f} | {f['f1']:.3f} | {f['support']} |")
        lines += ["", f"![confusion matrix for {head}](confusion_{head}.png)"]
        lines += ["", f"![reliability diagram for {head}](reliability_{head}.png)"]
    return "\n".join(lines) + "\n"

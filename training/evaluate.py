"""Score a bundle on labeled examples through the same `predict` the service uses, and write reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from service.bundle import HEADS, Bundle
from service.predict import predict
from training.data import Example


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


def evaluate(bundle: Bundle, examples: list[Example]) -> dict[str, Any]:
    """Per head present in both the examples and the bundle: the scores of `score_head`."""
    predictions = predict(bundle, [example.text for example in examples])
    report: dict[str, Any] = {"model": bundle.version, "heads": {}}
    for head in bundle.heads:
        pairs = [
            (ex.labels[head], pred[head].label)
            for ex, pred in zip(examples, predictions, strict=True)
            if head in ex.labels
        ]
        if pairs:
            gold, predicted = (list(column) for column in zip(*pairs, strict=True))
            report["heads"][head] = score_head(gold, predicted, list(HEADS[head]))
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
    return written


def render_markdown(report: dict[str, Any]) -> str:
    lines = [f"# Evaluation of model {report['model']}", ""]
    if "data" in report:
        lines += [
            f"Data: {', '.join(report['data'])}" + (f" (split {report['split']})" if report.get("split") else ""),
            "",
        ]
    lines += ["| head | n | accuracy | macro-F1 |", "|---|---:|---:|---:|"]
    for head, scores in report["heads"].items():
        lines.append(f"| {head} | {scores['n']} | {scores['accuracy']:.3f} | {scores['macro_f1']:.3f} |")
    for head, scores in report["heads"].items():
        lines += ["", f"## {head}", "", "| label | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
        for label, f in scores["per_class"].items():
            lines.append(f"| {label} | {f['precision']:.3f} | {f['recall']:.3f} | {f['f1']:.3f} | {f['support']} |")
        lines += ["", f"![confusion matrix for {head}](confusion_{head}.png)"]
    return "\n".join(lines) + "\n"

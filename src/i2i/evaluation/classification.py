"""Scores a classifier on a class-folder split: accuracy, per-category accuracy, the confusion matrix and the
misclassified images, as ``metrics.csv`` (one row per image), ``summary.json``, ``confusion_matrix.png`` and an
HTML page (``index.html``) that shows the matrix and every misclassified image with what the model said."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from i2i.data.classes import ClassRecord, list_classes
from i2i.evaluation.metrics import ClassScores
from i2i.evaluation.report import ReportRow, unique_name, write_report
from i2i.evaluation.visuals import confusion_image
from i2i.imageio import ImageReadError, read_image, write_image
from i2i.inference.classifier import Classifier

log = logging.getLogger(__name__)


@dataclass
class ClassEvalSummary:
    count: int
    accuracy: float
    class_accuracy: float
    per_class: dict[str, float]
    labels: list[str]
    confusion: list[list[int]]  # rows: true category, columns: predicted (label order)
    misclassified: int
    data: str
    split: str
    model: str
    missing: list[str] = field(default_factory=list)  # categories with no image in the split
    skipped: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = (
            f"{self.count} images of {len(self.per_class)} categories: accuracy {self.accuracy:.1%}, "
            f"mean per-category accuracy {self.class_accuracy:.1%}, {self.misclassified} misclassified"
        )
        return text + (f" ({len(self.skipped)} skipped)" if self.skipped else "")


def evaluate_classifier(
    classifier: Classifier,
    root: str | Path,
    out_dir: str | Path,
    split: str = "test",
    model_name: str = "",
    batch_size: int = 32,
) -> ClassEvalSummary:
    """Classifies every image of ``root/<split>/<category>/`` and writes the report into ``out_dir``.

    The categories are the model's: a folder of another name is skipped (and named), as are unreadable files.
    """
    labels = classifier.labels
    report = list_classes(root, split, labels)
    skipped = [str(p) for p in report.problems]
    for problem in skipped:
        log.warning("skipped %s", problem)
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    scores = ClassScores(labels)
    rows: list[ReportRow] = []
    wrong: list[ReportRow] = []
    names: set[str] = set()
    channels = classifier.pre.input_channels
    for start in range(0, len(report.records), batch_size):
        chunk: list[tuple[ClassRecord, np.ndarray]] = []
        for record in report.records[start : start + batch_size]:
            try:
                chunk.append((record, read_image(record.path, channels=channels)))
            except ImageReadError as exc:
                skipped.append(str(exc))
                log.warning("skipped %s", exc)
        if not chunk:
            continue
        probabilities = classifier.probabilities([image for _, image in chunk], batch_size)
        for (record, image), probs in zip(chunk, probabilities, strict=True):
            predicted = int(np.argmax(probs))
            scores.add(record.label, predicted)
            name = unique_name(record.name.replace("/", "__"), names)
            row = ReportRow(
                name,
                {},
                {"confidence": float(probs[predicted]), "correct": float(predicted == record.label)},
                {"true": record.category, "predicted": labels[predicted]},
            )
            rows.append(row)
            if predicted != record.label:
                row.images["image"] = f"images/{name}.png"
                write_image(out_dir / row.images["image"], image)
                top = np.argsort(-probs, kind="stable")[:3]
                row.labels["top3"] = ", ".join(f"{labels[i]} {probs[i]:.0%}" for i in top)
                wrong.append(row)
    if not rows:
        raise ImageReadError(root, f"no readable images in split '{split}'")
    means = scores.means()
    summary = ClassEvalSummary(
        count=scores.count,
        accuracy=means["accuracy"],
        class_accuracy=means["class_accuracy"],
        per_class=scores.per_class(),
        labels=list(labels),
        confusion=scores.matrix.tolist(),
        misclassified=len(wrong),
        data=str(root),
        split=split,
        model=model_name,
        missing=list(report.missing),
        skipped=skipped,
    )
    write_image(out_dir / "confusion_matrix.png", confusion_image(scores.matrix, labels))
    per_class = ", ".join(f"{label} {value:.0%}" for label, value in summary.per_class.items())
    lines = [summary.line(), f"per category: {per_class}"]
    if summary.missing:
        lines.append(f"no images of: {', '.join(summary.missing)}")
    lines += [f"skipped: {s}" for s in skipped]
    write_report(
        out_dir,
        f"{model_name or 'classifier'} on {root} [{split}]",
        lines,
        rows,
        asdict(summary),
        ["confidence", "correct"],
        figures={"confusion matrix (rows: true category, columns: predicted)": "confusion_matrix.png"},
        shown=wrong,
        table_title=f"misclassified ({len(wrong)})",
    )
    return summary

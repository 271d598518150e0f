"""An image classifier (e.g. what a sketch shows): a registered backbone + head trained with cross-entropy.

The objective is label-smoothed cross-entropy, one Adam optimizer over the trainable weights (the head only when an
ImageNet backbone is frozen). Validation reports top-1 accuracy, the mean of the per-class accuracies (what a
category-balanced test would measure) and each category's accuracy (``accuracy/<category>``), and renders the
confusion matrix. The categories are the training split's class folders unless ``classes`` names them; either way
they are recorded in the run's config, so checkpoints and releases carry the labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from i2i.config import check_bounds, opt
from i2i.data.config import DataConfig
from i2i.data.kinds import Example, ScanReport
from i2i.errors import CheckpointError, ConfigError, DatasetError
from i2i.evaluation.metrics import CLASS_METRICS, ClassScores, Goal
from i2i.evaluation.visuals import confusion_image, label_card
from i2i.fileinfo import regular_file
from i2i.imageio import to_channels
from i2i.inference.pipeline import classify_arrays, prepare_generator
from i2i.inference.preprocessing import ClassifierPreprocessing
from i2i.methods.base import (
    ADAM_BETA,
    LEARNING_RATE,
    METHODS,
    Batch,
    ClassifierSlot,
    Method,
    MethodConfig,
    OptimizerSpec,
    StepContext,
    StepOutput,
)
from i2i.models.classifiers import ClassifierNetConfig, SmallCNNConfig
from i2i.models.weights import (
    TensorSpec,
    check_fit,
    first_nonfinite,
    read_safetensors,
    read_torch_file,
    specs_of,
)

MAX_CLASSES = 100_000


@METHODS.register("classifier")
@dataclass
class ClassifierConfig(MethodConfig):
    data_kind: ClassVar[str] = "classes"
    data_bound: ClassVar[tuple[str, ...]] = ("classes",)

    name: str = opt("classifier", "training method (classifier)")
    backbone: ClassifierNetConfig = opt(help="classifier network", factory=SmallCNNConfig)
    classes: list[str] | None = opt(
        None, "category names, in label order; null: the training split's class folders, sorted (then recorded)"
    )
    lr: float = opt(1e-3, "Adam learning rate", **LEARNING_RATE)
    beta1: float = opt(0.9, "Adam β1", **ADAM_BETA)
    beta2: float = opt(0.999, "Adam β2", **ADAM_BETA)
    weight_decay: float = opt(1e-4, "Adam weight decay (L2)", ge=0, le=1)
    label_smoothing: float = opt(0.1, "cross-entropy label smoothing", ge=0, lt=1)

    def __post_init__(self) -> None:
        check_bounds(self)
        if self.classes is not None:
            if not 2 <= len(self.classes) <= MAX_CLASSES:
                raise ConfigError(f"classes: a classifier needs 2 to {MAX_CLASSES} categories, got {len(self.classes)}")
            if len(set(self.classes)) != len(self.classes) or not all(self.classes):
                raise ConfigError("classes: category names must be unique and non-empty")

    def adopt_data(self, report: ScanReport) -> None:
        """Records the training split's categories as ``classes``, or checks them against the named ones."""
        found = list(getattr(report, "classes", []))
        if len(found) < 2:
            raise DatasetError(
                f"{report.root} [{report.split}]: a classifier needs at least 2 categories with images, found "
                f"{len(found)} ({', '.join(found) or 'none'})"
            )
        if self.classes is None:
            self.classes = found
        elif found != self.classes:
            raise DatasetError(
                f"{report.root} [{report.split}]: its categories ({_names(found)}) are not the run's "
                f"method.classes ({_names(self.classes)})"
            )

    def labels(self) -> list[str]:
        if self.classes is None:
            raise ConfigError("classes: unknown until the training split is scanned")
        return list(self.classes)

    def build(self, data: DataConfig) -> ClassifierMethod:
        if data.crop_size < self.backbone.min_size:
            raise ConfigError(
                f"data.crop_size ({data.crop_size}) is too small for backbone {self.backbone.name}: it needs at least "
                f"{self.backbone.min_size} pixels"
            )
        return ClassifierMethod(self, data.input_channels, len(self.labels()))

    def generator_slots(self, data: DataConfig) -> list:
        return []

    def classifier_slot(self, data: DataConfig) -> ClassifierSlot:
        return ClassifierSlot("classifier", self.backbone, data.input_channels, self.labels())

    def preprocessing(self, data: DataConfig) -> ClassifierPreprocessing:
        return ClassifierPreprocessing(data.input_channels, data.crop_size, data.resize_mode)

    def validation_metrics(self, data: DataConfig) -> dict[str, Goal]:
        return dict(CLASS_METRICS)


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


class ClassifierMethod(Method):
    sample_tag: ClassVar[str] = "samples/input_prediction"
    graph_safe: ClassVar[bool] = True

    def __init__(self, config: ClassifierConfig, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.config = config
        self.net = config.backbone.build(in_channels, num_classes)

    def load_initial_weights(self) -> None:
        """A fresh run starts from the backbone's ImageNet weights file, when one is named (a resumed run takes its
        weights from its checkpoint and never needs the file)."""
        weights = self.config.backbone.pretrained_file
        if weights is not None:
            load_backbone_weights(self.net, Path(weights), self.config.backbone.name)

    def networks(self) -> dict[str, nn.Module]:
        return {"classifier": self.net}

    def optimizer_specs(self) -> dict[str, OptimizerSpec]:
        params = [p for p in self.net.parameters() if p.requires_grad]
        cfg = self.config
        return {"classifier": OptimizerSpec(params, cfg.lr, (cfg.beta1, cfg.beta2), cfg.weight_decay)}

    def training_step(self, batch: Batch, ctx: StepContext) -> StepOutput:
        logits = self.net(batch["a"])
        labels = batch["label"]
        loss = F.cross_entropy(logits.float(), labels, label_smoothing=self.config.label_smoothing)  # type: ignore[arg-type]
        ctx.step("classifier", loss)
        accuracy = (logits.detach().argmax(1) == labels).float().mean()  # type: ignore[operator]
        return StepOutput({"ce": loss.detach(), "train_accuracy": accuracy})

    def validator(self, pre: Any, device: torch.device) -> ClassifierValidation:
        net = prepare_generator(self.net, "running").to(device)  # an eval-mode copy; training goes on
        return ClassifierValidation(net, pre, device, self.config.labels())


class ClassifierValidation:
    """Classifies each example as ``Classifier`` would; rows read input | predicted and true category."""

    def __init__(self, net: nn.Module, pre: ClassifierPreprocessing, device: torch.device, labels: list[str]) -> None:
        self.net, self.pre, self.device, self.labels = net, pre, device, labels
        self.scores = ClassScores(labels)

    def score(self, example: Example) -> list[np.ndarray]:
        image = example["a"]
        probs = classify_arrays(self.net, [image], self.pre, self.device)[0]
        truth = int(example["label"])
        predicted = int(probs.argmax())
        self.scores.add(truth, predicted)
        shown = to_channels(image, 3)
        mark = "right" if predicted == truth else "WRONG"
        card = label_card(
            [f"{self.labels[predicted]} {probs[predicted]:.0%}", f"true: {self.labels[truth]}", mark],
            height=shown.shape[0],
        )
        return [shown, card]

    def metrics(self) -> dict[str, float]:
        return self.scores.means()

    def figures(self) -> dict[str, np.ndarray]:
        """Images of this round for the run folder and TensorBoard: the confusion matrix."""
        if not self.scores.count:
            return {}
        return {"confusion_matrix": confusion_image(self.scores.matrix, self.labels)}


# --- ImageNet weights for a backbone -------------------------------------------------------------------------------


def load_backbone_weights(net: nn.Module, path: Path, arch: str) -> None:
    """Loads ImageNet weights from a local file into the backbone (``body``) of a torchvision-based classifier.

    The file is torchvision's state dict (``vgg16-397923af.pth``, ``resnet18-f37072fd.pth``) or a ``.safetensors``
    file with the same names, read as tensors only (a pickle holding anything else is refused, never run). Its
    ImageNet head (``classifier.*`` / ``fc.*``) is ignored; every other tensor must be the backbone's, by name and
    shape.
    """
    body = getattr(net, "body", None)
    if body is None:
        raise ConfigError(f"backbone {arch} takes no pretrained weights file")
    if path.suffix == ".safetensors":
        regular_file(path, "weights file not found")
        state = read_safetensors(path)
    else:
        state = read_torch_file(path, "weights file", "tensors")
    if not isinstance(state, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise CheckpointError(f"{path}: not a weights file (expected a mapping of names to tensors)")
    own = body.state_dict()
    # The backbone's tensors under the names torchvision's file gives them; floating-point ones are converted to the
    # network's dtype (a float16 .safetensors file is fine), so only names and shapes must fit.
    by_file_name = {net.body_key(k): k for k in own}  # type: ignore[operator]
    ignored = tuple(getattr(net, "imagenet_head", ()))
    found = {k: v for k, v in state.items() if k in by_file_name or not k.startswith(ignored)}
    own_specs = specs_of(own)
    expected = {k: own_specs[own_key] for k, own_key in by_file_name.items()}
    as_own = {
        k: TensorSpec(tuple(v.shape), expected[k].dtype if k in expected and v.is_floating_point() else v.dtype)
        for k, v in found.items()
    }
    check_fit(expected, as_own, str(path), arch, lead=f"not {arch} ImageNet weights")
    bad = first_nonfinite(found)
    if bad is not None:
        raise CheckpointError(f"{path}: tensor '{bad}' holds NaN or inf values")
    loaded = {own_key: found[k].to(own[own_key].dtype) for k, own_key in by_file_name.items()}
    body.load_state_dict(loaded)

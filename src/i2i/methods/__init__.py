"""Training methods: networks plus objective, one file per method, registered by name."""

from i2i.methods import classifier, cyclegan, pix2pix, ugatit  # noqa: F401  (registers the methods)
from i2i.methods.base import (
    METHODS,
    ClassifierSlot,
    GeneratorSlot,
    Method,
    MethodConfig,
    OptimizerSpec,
    StepContext,
    StepOutput,
    Validation,
)

__all__ = [
    "METHODS",
    "ClassifierSlot",
    "GeneratorSlot",
    "Method",
    "MethodConfig",
    "OptimizerSpec",
    "StepContext",
    "StepOutput",
    "Validation",
]

"""Training methods: networks plus objective, one file per method, registered by name."""

from i2i.methods import pix2pix  # noqa: F401  (registers the method)
from i2i.methods.base import METHODS, Method, MethodConfig, OptimizerSpec, StepContext, StepOutput

__all__ = ["METHODS", "Method", "MethodConfig", "OptimizerSpec", "StepContext", "StepOutput"]

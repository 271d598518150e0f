"""Opening an ONNX graph in onnxruntime: one place for the session options (explicit thread count, no spinning
threads on a shared machine, all graph optimizations) and for the one-line errors of a missing runtime or a file
that is not a usable ONNX model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from i2i.errors import CheckpointError, I2IError
from i2i.parallel import usable_cpus


def onnxruntime_module() -> Any:
    """The ``onnxruntime`` module, or a one-line error saying how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise I2IError("the ONNX runtime is not installed: pip install 'i2i[onnx]' (or onnxruntime)") from None
    return onnxruntime


def open_session(model: bytes | Path, what: str, threads: int | None = None) -> Any:
    """An onnxruntime CPU session for the ONNX graph in ``model`` (bytes, or a file read whole); ``threads``: the
    intra-op thread count (None: one per usable CPU). ``what`` names the graph in messages."""
    ort = onnxruntime_module()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or usable_cpus()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Worker threads that spin between operations keep cores busy after each image; on a shared machine (a server
    # beside other work, tests) they only steal time.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: warnings about unused initializers are not the user's concern
    try:
        data = model if isinstance(model, bytes) else model.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{what}: unreadable ({exc.strerror or exc})") from None
    try:
        return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001  (onnxruntime raises its own types for every kind of bad file)
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        why = lines[0] if lines else type(exc).__name__
        why = re.sub(r"^\[ONNXRuntimeError\]( : \S+)* : ", "", why)[:200]  # its "... : 7 : INVALID_PROTOBUF :" prefix
        raise CheckpointError(f"{what}: not a usable ONNX model ({why})") from None

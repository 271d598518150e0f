"""Opening and running an ONNX graph in onnxruntime: one place for the session options (explicit thread count, no
spinning threads on a shared machine, all graph optimizations), for what a graph may hold before onnxruntime sees it
(``graph_check``), for the deadline of every run, and for the one-line errors of a missing runtime, a file that is
not a usable ONNX model and a run that failed."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from i2i.errors import CheckpointError, I2IError, ModelRunError, show_path
from i2i.parallel import usable_cpus
from i2i.portable.graph_check import check_graph, read_graph_bytes

# How long one run of a graph may take before it is stopped: far beyond what a real image takes on a slow CPU at the
# pixel cap, short enough that a graph that never finishes cannot wedge a server or a translate for good.
RUN_TIMEOUT_S = 600.0


def onnxruntime_module() -> Any:
    """The ``onnxruntime`` module, or a one-line error saying how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise I2IError("the ONNX runtime is not installed: pip install 'i2i[onnx]' (or onnxruntime)") from None
    return onnxruntime


def open_session(model: bytes | Path, what: str, threads: int | None = None) -> Any:
    """An onnxruntime CPU session for the ONNX graph in ``model`` (bytes, or a file read whole after a size check);
    ``threads``: the intra-op thread count (None: one per usable CPU). ``what`` names the graph in messages. The graph
    is checked (``graph_check.check_graph``: no external data, no operator i2i does not export) and onnxruntime is
    given exactly the checked bytes, so nothing in it can make onnxruntime read a file."""
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
    data = model if isinstance(model, bytes) else read_graph_bytes(model, what)
    check_graph(data, what)
    try:
        return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001  (onnxruntime raises its own types for every kind of bad file)
        raise CheckpointError(f"{what}: not a usable ONNX model ({_first_line(exc)})") from None


def run_session(session: Any, output: str, feeds: dict[str, Any], what: str, timeout_s: float = RUN_TIMEOUT_S) -> Any:
    """``session.run([output], feeds)[0]``, stopped after ``timeout_s`` seconds (onnxruntime's terminate flag, set by a
    timer); any failure of the run (an allocation, a kernel, the deadline) becomes a ModelRunError in one line naming
    ``what``."""
    ort = onnxruntime_module()
    options = ort.RunOptions()
    timer = threading.Timer(timeout_s, setattr, (options, "terminate", True))
    timer.daemon = True
    timer.start()
    try:
        return session.run([output], feeds, run_options=options)[0]
    except Exception as exc:  # noqa: BLE001  (onnxruntime raises its own types for every failure)
        if options.terminate:
            raise ModelRunError(f"{what}: stopped after {timeout_s:g} s without finishing") from None
        raise ModelRunError(f"{what}: failed while running ({_first_line(exc)})") from None
    finally:
        timer.cancel()


def _first_line(exc: BaseException) -> str:
    """onnxruntime's message for ``exc`` in one short line, without its "[ONNXRuntimeError] : 7 : ..." prefix."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    why = lines[0] if lines else type(exc).__name__
    return show_path(re.sub(r"^\[ONNXRuntimeError\]( : \S+)* : ", "", why)[:200])  # a crafted node name stays inert

"""What an ONNX graph in a release may hold, checked before onnxruntime sees a byte of it.

A release folder may come from anyone, and onnxruntime does what a graph asks: a tensor stored as *external data*
(``TensorProto.external_data`` with a ``location``) is read from a file, resolved against the process's working
directory when the graph is handed over as bytes, so a crafted graph can read ``.git/config`` and hand its bytes
back as pixels; a ``Loop`` can run forever. i2i's exporter writes none of that: every tensor inline, no local
functions, no control flow, only the standard operators its networks export to (``ALLOWED_OPS``). So the file is read
with a size bound taken from ``stat`` first, parsed with the ``onnx`` package, and refused in one line when any graph
in it (subgraphs in attributes included) holds an external or sparse tensor or an operator outside that list. The
session is then given exactly the bytes that were checked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from i2i.errors import CheckpointError, I2IError

# protobuf cannot encode a message of 2 GiB or more, and onnxruntime refuses one: a larger file is not a graph.
MAX_ONNX_BYTES = 2**31 - 1

# The standard-domain operators a graph from i2i's exporter may use: what every registered generator and classifier
# exports to (a contract test keeps that true), the QDQ pair of int8 graphs, and the plain tensor arithmetic, shape
# and normalization operators a future layer or the TorchScript fallback exporter could need. Never: control flow
# (Loop, If, Scan), sequences, strings, random numbers, training operators, or any custom domain.
ALLOWED_OPS = frozenset(
    """
    Abs Add And ArgMax ArgMin AveragePool BatchNormalization Cast CastLike Ceil Clip Concat Constant ConstantOfShape
    Conv ConvTranspose DepthToSpace DequantizeLinear Div Dropout Elu Equal Erf Exp Expand Flatten Floor Gather
    GatherElements GatherND Gelu Gemm GlobalAveragePool GlobalMaxPool Greater GreaterOrEqual GroupNormalization
    HardSigmoid HardSwish Identity InstanceNormalization LayerNormalization LeakyRelu Less LessOrEqual Log
    LogSoftmax LpNormalization MatMul Max MaxPool Mean Min Mish Mul Neg Not Or PRelu Pad Pow QuantizeLinear Range
    Reciprocal ReduceL2 ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize
    Round Selu Shape Sigmoid Sign Size Slice Softmax Softplus SpaceToDepth Split Sqrt Squeeze Sub Sum Tanh Tile
    Transpose Unsqueeze Upsample Where
    """.split()
)
STANDARD_DOMAINS = ("", "ai.onnx")


def onnx_module() -> Any:
    """The ``onnx`` package (the graph parser), or a one-line error saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise I2IError("checking ONNX graphs needs the onnx package: pip install 'i2i[onnx]' (or onnx)") from None
    return onnx


def read_graph_bytes(path: Path, what: str) -> bytes:
    """The bytes of graph file ``path``, refused from its size (``stat`` of the opened file, before any read) when
    no ONNX graph can be that large."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_ONNX_BYTES:
                raise CheckpointError(
                    f"{what}: {size:,} bytes is larger than any ONNX graph can be ({MAX_ONNX_BYTES:,} bytes, the "
                    "protobuf limit); refusing to read it"
                )
            return f.read(MAX_ONNX_BYTES + 1)
    except OSError as exc:
        raise CheckpointError(f"{what}: unreadable ({exc.strerror or exc})") from None


def check_graph(data: bytes, what: str) -> None:
    """Refuses, in one line naming ``what``, a serialized ONNX model that is not a protobuf ModelProto, or that holds
    what i2i's exporter never writes: external or sparse tensors, local functions, training information, operators
    outside ``ALLOWED_OPS`` or the standard domain, in the main graph or any subgraph."""
    onnx = onnx_module()
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:  # noqa: BLE001  (protobuf's DecodeError, or a RecursionError on deep nesting)
        raise CheckpointError(f"{what}: not a usable ONNX model (not an ONNX protobuf: {type(exc).__name__})") from None
    if not model.HasField("graph"):
        raise CheckpointError(f"{what}: not a usable ONNX model (it holds no graph)")
    if len(model.functions):
        name = _shown(model.functions[0].name)
        raise CheckpointError(f"{what}: holds local functions ({name}), which i2i never exports")
    if len(model.training_info):
        raise CheckpointError(f"{what}: holds training information, which i2i never exports")
    for problem in _problems(onnx, model.graph, "graph"):
        raise CheckpointError(f"{what}: {problem}; i2i's exporter never writes that, refusing the graph")


def _problems(onnx: Any, graph: Any, where: str) -> Iterator[str]:
    """What in ``graph`` (and its subgraphs) a release's graph may not hold, one phrase each."""
    for tensor in graph.initializer:
        yield from _tensor_problems(onnx, tensor, f"{where} initializer {_shown(tensor.name)}")
    if len(graph.sparse_initializer):
        yield f"{where} has sparse initializers"
    for node in graph.node:
        name = f"{where} node {_shown(node.name or node.op_type)}"
        if node.domain not in STANDARD_DOMAINS:
            yield f"{name} uses operator {_shown(node.op_type)} of the custom domain {_shown(node.domain)}"
        elif node.op_type not in ALLOWED_OPS:
            yield f"{name} uses operator {_shown(node.op_type)}, which is not among those i2i's networks export to"
        for attr in node.attribute:
            at = f"{name} attribute {_shown(attr.name)}"
            if attr.HasField("t"):
                yield from _tensor_problems(onnx, attr.t, at)
            for tensor in attr.tensors:
                yield from _tensor_problems(onnx, tensor, at)
            if attr.HasField("sparse_tensor") or len(attr.sparse_tensors):
                yield f"{at} holds a sparse tensor"
            if attr.HasField("g"):
                yield from _problems(onnx, attr.g, f"{at} subgraph")
            for sub in attr.graphs:
                yield from _problems(onnx, sub, f"{at} subgraph")


def _tensor_problems(onnx: Any, tensor: Any, where: str) -> Iterator[str]:
    if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
        location = next((e.value for e in tensor.external_data if e.key == "location"), "?")
        yield f"{where} is stored as external data (in {_shown(location)}), not inside the graph"


def _shown(text: str, limit: int = 60) -> str:
    """A name from the graph, quoted, escaped and cut for a one-line message."""
    return repr(text[:limit] + ("..." if len(text) > limit else ""))

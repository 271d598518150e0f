"""Inference as CUDA graphs: one capture per input shape, then each call is a copy in and a replay.

A generator's forward pass at batch size 1 is a few dozen short kernels; launching them from Python costs more
than running them. A captured graph launches them all at once. Shapes are few in practice (one per image size and
batch size), and each keeps its own graph and input/output buffers.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

WARMUP_CALLS = 2


class GraphedForward:
    """Calls ``net`` (in eval mode, on a CUDA device) through per-shape CUDA graphs, under ``autocast``.

    Args:
        net: the network; its parameters must not be replaced afterwards (in-place updates are seen).
        autocast: a context factory for the forward pass (e.g. bf16 autocast), or None.
        max_graphs: shapes kept at once; a new shape beyond that runs eagerly.
    """

    def __init__(self, net: nn.Module, autocast: Callable | None = None, max_graphs: int = 8) -> None:
        self.net = net
        self.autocast = autocast
        self.max_graphs = max_graphs
        self._graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor]] = {}
        self._pool = None

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.autocast is None:
            return self.net(x)
        with self.autocast():
            return self.net(x)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        key = (tuple(x.shape), x.dtype, x.stride())
        entry = self._graphs.get(key)
        if entry is None:
            if len(self._graphs) >= self.max_graphs:
                return self._forward(x)
            entry = self._capture(x)
            self._graphs[key] = entry
        graph, static_in, static_out = entry
        static_in.copy_(x)
        graph.replay()
        return static_out.clone()

    def _capture(self, x: torch.Tensor) -> tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor]:
        static_in = x.clone()
        stream = torch.cuda.Stream(x.device)
        stream.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(stream):  # warm-up (cuDNN autotuning, lazy init) must not happen inside capture
            for _ in range(WARMUP_CALLS):
                self._forward(static_in)
        torch.cuda.current_stream(x.device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self._pool, capture_error_mode="thread_local"):
            static_out = self._forward(static_in)
        self._pool = graph.pool()
        return graph, static_in, static_out

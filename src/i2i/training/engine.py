"""The training engine: a method's networks and optimizers, and one training step, made fast.

Everything about *how* a step runs lives here, apart from the loop (``trainer``) and the objective (``methods``):
mixed precision (``precision``), memory format, ``torch.compile``, fused Adam, gradient averaging across processes
(``distributed``) and the capture of the whole step in a CUDA graph. ``i2i bench`` times this same engine, so the
benchmark measures exactly what training runs.
"""

from __future__ import annotations

import copy
import functools
import logging
from typing import Any

import torch
from torch import nn

from i2i.errors import CheckpointError
from i2i.methods.base import Method
from i2i.run_config import RunConfig
from i2i.training.distributed import DistContext, average_gradients, convert_batchnorm
from i2i.training.precision import Precision, resolve_precision

log = logging.getLogger(__name__)

# Eager steps before a CUDA graph is captured: cuDNN's autotuner, lazy optimizer state and compiled kernels all
# settle in the first steps, and none of them may happen during capture.
GRAPH_WARMUP_STEPS = 3


class _StepContext:
    """What ``Method.training_step`` calls for each loss: zero grads, backward, average over processes, step."""

    def __init__(self, engine: TrainEngine) -> None:
        self.engine = engine

    def step(self, name: str, loss: torch.Tensor) -> None:
        engine = self.engine
        opt = engine.optimizers[name]
        opt.zero_grad(set_to_none=True)
        scaler = engine.scalers.get(name)
        # Backward runs outside autocast (each op's backward uses its forward's type anyway).
        with torch.autocast(engine.device.type, enabled=False):
            (scaler.scale(loss) if scaler is not None else loss).backward()
        if engine.dist.enabled:
            average_gradients(engine.params[name], engine.local_samples, engine.dist)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()


class TrainEngine:
    """Builds ``cfg.method`` on ``device`` with the speed options of ``cfg.train`` and runs training steps.

    Args:
        cfg: the run configuration (method, data channels, train options).
        device: where the networks live.
        dist: this process's place among data-parallel processes.
    """

    def __init__(
        self, cfg: RunConfig, device: torch.device, dist: DistContext | None = None, fused_adam: bool = True
    ) -> None:
        tc = cfg.train
        self.cfg = cfg
        self.fused_adam = fused_adam
        self.device = device
        self.dist = dist or DistContext()
        self.precision: Precision = resolve_precision(tc.precision, device)
        self.channels_last = tc.memory_format == "channels_last" or (
            tc.memory_format == "auto" and device.type == "cuda"
        )
        method = cfg.method.build(cfg.data)
        self.method: Method = convert_batchnorm(method, self.dist, device).to(device)
        if self.channels_last:
            self.method.to(memory_format=torch.channels_last)
        self.use_graphs = self._graphs_possible(tc.cuda_graphs)
        if tc.compile:
            for net in self.method.networks().values():
                net.compile()
        specs = self.method.optimizer_specs()
        self.params = {name: list(spec.params) for name, spec in specs.items()}
        self.optimizers = {
            name: torch.optim.Adam(
                spec.params, lr=self._lr(spec.lr), betas=spec.betas, weight_decay=spec.weight_decay, **self._adam()
            )
            for name, spec in specs.items()
        }
        LambdaLR = torch.optim.lr_scheduler.LambdaLR  # noqa: N806
        self.schedulers = {name: LambdaLR(opt, lr_lambda=tc.lr_factor) for name, opt in self.optimizers.items()}
        self.scalers = (
            {name: torch.amp.GradScaler(device.type) for name in self.optimizers} if self.precision.needs_scaler else {}
        )
        self.local_samples = 1
        self._ctx = _StepContext(self)
        self._eager_steps = 0
        self._graph: torch.cuda.CUDAGraph | None = None
        self._static_in: dict[str, Any] = {}
        self._static_out: dict[str, torch.Tensor] = {}

    # -- options ---------------------------------------------------------------------------------------------
    def _graphs_possible(self, wanted: bool) -> bool:
        why = None
        if self.device.type != "cuda":
            why = "not on a GPU"
        elif self.precision.needs_scaler:
            why = "fp16's gradient scaler synchronizes with the host"
        elif self.dist.enabled:
            why = "the step's all-reduce runs between processes"
        elif not type(self.method).graph_safe:
            why = f"{type(self.method).__name__} makes host-side decisions in its step"
        if wanted and why and self.device.type == "cuda":
            log.info("CUDA graphs off: %s", why)
        return wanted and why is None

    def _adam(self) -> dict[str, Any]:
        """Fused Adam (one pass over each parameter, no temporaries) on GPUs and on CPUs whose torch has it: on a
        CPU the unfused update of a U-Net's weights costs several times the fused one. Graph capture also needs
        device-side step counts."""
        if self.device.type != "cuda":
            return {"fused": True} if self.fused_adam and _fused_adam_on_cpu() else {}
        return {"fused": True, "capturable": self.use_graphs} if self.fused_adam else {"capturable": self.use_graphs}

    def _lr(self, lr: float) -> float | torch.Tensor:
        # A captured step reads the learning rate from device memory, where the scheduler updates it in place.
        return torch.tensor(lr, device=self.device) if self.use_graphs else lr

    def describe(self) -> str:
        parts = [
            self.precision.name,
            "channels_last" if self.channels_last else "contiguous",
            "fused Adam" if self._adam().get("fused") else "Adam",
        ]
        if any(getattr(n, "_compiled_call_impl", None) is not None for n in self.method.networks().values()):
            parts.append("compiled")
        if self.use_graphs:
            parts.append("CUDA graph")
        if self.dist.enabled:
            parts.append(f"{self.dist.world_size} processes")
        return ", ".join(parts)

    # -- steps -----------------------------------------------------------------------------------------------
    def to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Moves a batch's tensors to the engine's device (and memory format)."""
        out = {}
        for key, value in batch.items():
            if torch.is_tensor(value):
                value = value.to(self.device, non_blocking=True)
                if self.channels_last and value.dim() == 4:
                    value = value.contiguous(memory_format=torch.channels_last)
            out[key] = value
        return out

    def train_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """One optimizer step of every network on ``batch`` (already on the device); returns detached losses.

        The returned tensors may be overwritten by the next step (CUDA graph outputs): use or copy them first.
        """
        self.local_samples = _batch_len(batch)
        if self.use_graphs:
            if self._graph is not None and _same_shapes(batch, self._static_in):
                return self._replay(batch)
            if self._graph is None and self._eager_steps >= GRAPH_WARMUP_STEPS:
                if self._capture(batch):
                    return self._replay(batch)
        self._eager_steps += 1
        if self.use_graphs:
            # Warm-up on a side stream, as CUDA-graph capture requires of the work it later records.
            stream = torch.cuda.Stream(self.device)
            stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(stream):
                losses = self._eager(batch)
            torch.cuda.current_stream(self.device).wait_stream(stream)
            return losses
        return self._eager(batch)

    def _eager(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        # No cast cache: a step updates weights between forward passes (D, then G through D), and autocast's cache
        # would hand a later pass the low-precision copy of weights from before the update. Graph capture needs
        # the cache off too.
        with self.precision.autocast(cache_enabled=False):
            return self.method.training_step(batch, self._ctx).losses

    def _capture(self, batch: dict[str, Any]) -> bool:
        """Records one whole step (forward, backward, all optimizer updates) as a CUDA graph.

        Capture records without running anything, so the weights are untouched when it fails: the run then
        goes on eagerly (with a warning) and the step is taken eagerly. The step's results come from the replay
        that follows a successful capture.
        """
        self._static_in = {k: v.clone() if torch.is_tensor(v) else v for k, v in batch.items()}
        graph = torch.cuda.CUDAGraph()
        torch.cuda.synchronize(self.device)
        try:
            # thread_local: the DataLoader's pin-memory thread may call CUDA while this thread captures.
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                self._static_out = self._eager(self._static_in)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.warning("CUDA graph capture failed (%s); training goes on without graphs", first)
            self.use_graphs = False
            self._static_in, self._static_out = {}, {}
            return False
        self._graph = graph
        log.info("captured the training step in a CUDA graph after %d eager steps", self._eager_steps)
        return True

    def _replay(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        for key, value in batch.items():
            if torch.is_tensor(value):
                self._static_in[key].copy_(value, non_blocking=True)
            else:
                self._static_in[key] = value
        self._graph.replay()
        return self._static_out

    def step_schedulers(self) -> None:
        for sched in self.schedulers.values():
            sched.step()

    # -- state -----------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Networks, optimizers, schedules and loss scalers, with learning rates as plain floats.

        Plain floats keep checkpoints independent of the speed options: a run saved with CUDA graphs (tensor
        learning rates, device-side step counts) resumes without them, on another device, and the other way round.
        """
        return {
            "networks": {name: net.state_dict() for name, net in self.method.networks().items()},
            "optimizers": {name: _plain_lrs(opt.state_dict()) for name, opt in self.optimizers.items()},
            "schedulers": {name: _plain_lrs(s.state_dict()) for name, s in self.schedulers.items()},
            "scalers": {name: s.state_dict() for name, s in self.scalers.items()},
            "method_state": self.method.training_state(),
        }

    def load_optimizer_state(self, state: dict[str, Any], path: str) -> None:
        """Restores optimizers, schedules, scalers and the method's state (networks: ``checkpoint.load_networks``)."""
        try:
            for name, opt in self.optimizers.items():
                opt.load_state_dict(_with_runtime_options(state["optimizers"][name], opt))
                if self.use_graphs:
                    for group in opt.param_groups:
                        group["lr"] = torch.tensor(float(group["lr"]), device=self.device)
            for name, sched in self.schedulers.items():
                sched.load_state_dict(state["schedulers"][name])
        except (KeyError, ValueError) as exc:
            raise CheckpointError(f"{path}: optimizer state does not fit this method ({exc})") from None
        for name, scaler in self.scalers.items():
            if name in state.get("scalers", {}):
                scaler.load_state_dict(state["scalers"][name])
        self.method.load_training_state(state.get("method_state", {}))

    def parameters(self) -> list[nn.Parameter]:
        return list(self.method.parameters())


@functools.cache
def _fused_adam_on_cpu() -> bool:
    """Whether this torch has Adam's fused kernel for CPU tensors (torch 2.4 and later)."""
    param = nn.Parameter(torch.zeros(1))
    param.grad = torch.ones(1)
    try:
        torch.optim.Adam([param], fused=True).step()
    except (RuntimeError, TypeError, ValueError):
        return False
    return True


def _batch_len(batch: dict[str, Any]) -> int:
    for value in batch.values():
        if torch.is_tensor(value) and value.dim() > 0:
            return int(value.shape[0])
    return 1


def _same_shapes(batch: dict[str, Any], static: dict[str, Any]) -> bool:
    def same(k: str, v: torch.Tensor) -> bool:
        s = static.get(k)
        return torch.is_tensor(s) and v.shape == s.shape and v.dtype == s.dtype

    return all(same(k, v) for k, v in batch.items() if torch.is_tensor(v))


def _to_float(value: Any) -> Any:
    return float(value) if torch.is_tensor(value) and value.numel() == 1 else value


def _plain_lrs(state: dict[str, Any]) -> dict[str, Any]:
    """A copy of an optimizer or scheduler state with tensor learning rates turned into floats."""
    state = dict(state)
    if "param_groups" in state:
        state["param_groups"] = [
            {k: _to_float(v) if k in ("lr", "initial_lr") else v for k, v in group.items()}
            for group in state["param_groups"]
        ]
    for key in ("base_lrs", "_last_lr"):
        if key in state:
            state[key] = [_to_float(v) for v in state[key]]
    return state


_RUNTIME_OPTIONS = ("fused", "capturable", "foreach", "differentiable")


def _with_runtime_options(saved: dict[str, Any], opt: torch.optim.Optimizer) -> dict[str, Any]:
    """The saved state with this run's implementation flags (fused, capturable, …) instead of the saved ones."""
    saved = copy.copy(saved)
    current = opt.param_groups
    saved["param_groups"] = [
        {**group, **{k: cur[k] for k in _RUNTIME_OPTIONS if k in cur}, "lr": _to_float(group["lr"])}
        for group, cur in zip(saved["param_groups"], current, strict=False)
    ]
    return saved

"""Data-parallel training across processes with torch.distributed (launched by ``torchrun``).

Every process holds a full copy of the networks and trains on its share of each global batch (see
``training.sampler``). After each backward pass the gradients are averaged over all processes with one
``all_reduce`` per optimizer step, weighted by how many samples each process saw, so N processes with a global
batch of B follow the same trajectory as one process with batch B.

Why not ``DistributedDataParallel``: its reducer assumes each module runs forward once per backward with a fixed
set of trainable parameters. GAN steps break both: the discriminator runs on real and generated batches before one
backward, and it is frozen during the generator's pass. The explicit all-reduce has no such assumptions and is
exact; it gives up DDP's overlap of communication with the backward pass.
"""

from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from i2i.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistContext:
    """This process's place among the data-parallel processes (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Only the main process writes logs, samples and checkpoints."""
        return self.rank == 0


def context_from_env() -> DistContext:
    """Reads the variables ``torchrun`` sets (RANK, WORLD_SIZE, LOCAL_RANK); a plain launch is rank 0 of 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    return DistContext(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


def device_for(ctx: DistContext, device: torch.device) -> torch.device:
    """Each process on a CUDA machine takes the GPU of its local rank."""
    if ctx.enabled and device.type == "cuda":
        return torch.device("cuda", ctx.local_rank)
    return device


def init_process_group(ctx: DistContext, device: torch.device, timeout_minutes: float = 30.0) -> None:
    """Joins the process group (NCCL between GPUs, gloo between CPU processes); a no-op for one process."""
    if not ctx.enabled or dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, timeout=datetime.timedelta(minutes=timeout_minutes))
    log.info("process %d of %d joined the %s process group", ctx.rank, ctx.world_size, backend)


def destroy_process_group(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()


def check_batch(ctx: DistContext, batch_size: int) -> None:
    if batch_size % ctx.world_size:
        raise ConfigError(
            f"train.batch_size ({batch_size}) is the global batch and must be divisible by the number of "
            f"processes ({ctx.world_size})"
        )


def convert_batchnorm(module: nn.Module, ctx: DistContext, device: torch.device) -> nn.Module:
    """Batch statistics over the global batch (SyncBatchNorm) where torch supports it: between GPUs.

    Between CPU processes torch has no SyncBatchNorm; each process then normalizes with its own share of the
    batch, which the log says, since it makes N processes differ from one.
    """
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())
    if not (ctx.enabled and has_bn):
        return module
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if ctx.is_main:
        log.warning("BatchNorm statistics are per process on CPUs (torch has no SyncBatchNorm there)")
    return module


def average_gradients(params: list[nn.Parameter], local_samples: int, ctx: DistContext) -> None:
    """Sets every gradient to the sample-weighted mean over all processes, in one all_reduce.

    Each process's loss is a mean over its ``local_samples``; weighting by that count makes the result the mean
    over the global batch even when the last batch of an epoch splits unevenly.
    """
    if not ctx.enabled:
        return
    grads = [p.grad for p in params if p.grad is not None]
    flat = torch.cat([g.reshape(-1).float() for g in grads] + [grads[0].new_ones(1, dtype=torch.float32)])
    flat.mul_(local_samples)
    dist.all_reduce(flat)
    flat = flat[:-1] / flat[-1]
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset : offset + n].view_as(g))
        offset += n

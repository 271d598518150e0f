"""The image history pool of CycleGAN (Shrivastava et al. 2017; Zhu et al. 2017 §4): D also sees older fakes.

Until the pool is full, every generated image is stored and passed through. After that, each image is, with
probability ½, swapped for a random stored one (which the new image replaces), or passed through unchanged.

Everything stays on the device as tensors: the random draws are device-side and the decisions are ``torch.where``
selections, so a training step that queries the pool makes no host-side decision and can be captured as one CUDA
graph. The pool's contents are training state, saved in checkpoints for an exact resume.
"""

from __future__ import annotations

import torch
from torch import nn


class ImagePool(nn.Module):
    """A pool of up to ``size`` past images; ``size`` 0 passes every image through."""

    def __init__(self, size: int = 50) -> None:
        super().__init__()
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.images: torch.Tensor | None = None  # (size, C, H, W) float32, allocated at the first query
        self.filled: torch.Tensor | None = None  # 0-dim int64: how many slots hold an image

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Returns a batch of the same shape: each image either itself or a stored older one."""
        if self.size == 0:
            return images.detach()
        if self.images is None or self.images.shape[1:] != images.shape[1:]:
            self.images = torch.zeros((self.size, *images.shape[1:]), dtype=torch.float32, device=images.device)
            self.filled = torch.zeros((), dtype=torch.long, device=images.device)
        assert self.filled is not None
        out = []
        for image in images.detach().split(1):
            not_full = self.filled < self.size
            slot = torch.where(not_full, self.filled, torch.randint(0, self.size, (), device=image.device)).view(1)
            swap = (~not_full) & (torch.rand((), device=image.device) > 0.5)
            stored = self.images.index_select(0, slot)
            out.append(torch.where(swap, stored.to(image.dtype), image))
            # Filling stores the image; a swap replaces the drawn slot; otherwise the slot keeps what it had.
            self.images.index_copy_(0, slot, torch.where(not_full | swap, image.float(), stored))
            self.filled.add_(not_full.long())
        return torch.cat(out)

    def state(self) -> dict[str, torch.Tensor]:
        if self.images is None or self.filled is None:
            return {}
        return {"images": self.images, "filled": self.filled}

    def load_state(self, state: dict[str, torch.Tensor], device: torch.device) -> None:
        if not state:
            self.images = self.filled = None
            return
        self.images = state["images"].to(device=device, dtype=torch.float32).clone()
        self.filled = state["filled"].to(device=device, dtype=torch.long).clone()

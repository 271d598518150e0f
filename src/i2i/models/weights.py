"""Loading saved weights into a network: a file made for another architecture is a one-line error, never a traceback."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from i2i.errors import CheckpointError


def load_weights(net: nn.Module, state: dict[str, torch.Tensor], source: str, arch: Any) -> None:
    """Loads ``state`` into ``net``; weights made for another architecture give a one-line CheckpointError.

    Args:
        net: the network, built from its config.
        state: tensors by state-dict key.
        source: what the weights came from, for the message (a file, a checkpoint's network name).
        arch: the architecture, for the message (a config dict or a network name).
    """
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong_shape = [k for k in state if k in own and own[k].shape != state[k].shape]
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"{len(missing)} tensors missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected tensors (e.g. {unexpected[0]})")
        if wrong_shape:
            k = wrong_shape[0]
            parts.append(
                f"{len(wrong_shape)} tensors of another shape (e.g. {k}: {tuple(state[k].shape)} in the file, "
                f"{tuple(own[k].shape)} in the model)"
            )
        raise CheckpointError(f"{source}: weights do not fit the architecture {arch}: " + "; ".join(parts))
    net.load_state_dict(state)

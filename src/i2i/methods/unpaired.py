"""What the unpaired methods (CycleGAN, U-GAT-IT) share: two generators, one per direction, and how they are scored.

There is no ground truth for an unpaired example, so validation measures what can be measured (``CycleScores``, the
same definitions ``i2i eval`` reports): the cycle reconstruction A → B → A and B → A → B (PSNR, SSIM against the
original), and how far each generator moves an image that already belongs to its output domain (identity L1). A
sample-grid row shows real A | fake B | rec A and then the other direction, with each generator's attention map
before its output where the method has one.

Domain names follow the data: ``a`` is the network input domain and ``b`` the output domain after
``data.direction``; ``gen_ab`` maps a → b (what a release ships first) and ``gen_ba`` maps b → a. Scores are named
by the dataset's domains (``cycle_psnr_a`` is about the images of ``trainA``/``testA``) whatever the direction.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from i2i.data.config import DataConfig
from i2i.data.kinds import Example
from i2i.data.processing import crop_to
from i2i.direction import oriented
from i2i.evaluation.metrics import CycleScores, Goal, cycle_metrics
from i2i.evaluation.visuals import heatmap_image
from i2i.inference.pipeline import network_input, prepare_generator, to_batch, translate_arrays
from i2i.inference.preprocessing import Preprocessing
from i2i.methods.base import GeneratorSlot, Method, MethodConfig


class UnpairedMethodConfig(MethodConfig):
    """Config base of the two-way methods: one generator per direction, scored by ``CycleScores``.

    Subclasses are dataclasses with a ``generator`` field.
    """

    data_kind: ClassVar[str] = "unpaired"

    def generator_slots(self, data: DataConfig) -> list[GeneratorSlot]:
        generator = self.generator  # type: ignore[attr-defined]
        forward = GeneratorSlot("generator_ab", generator, data.input_channels, data.output_channels)
        back = GeneratorSlot("generator_ba", generator, data.output_channels, data.input_channels, reverse=True)
        return [forward, back]

    def validation_metrics(self, data: DataConfig) -> dict[str, Goal]:
        return cycle_metrics(identity=data.input_channels == data.output_channels)


class UnpairedMethod(Method):
    """Base of methods that learn both directions between two unpaired domains."""

    sample_tag: ClassVar[str] = "samples/realA_fakeB_recA_realB_fakeA_recB"
    gen_ab: nn.Module
    gen_ba: nn.Module

    def attention(self, net: nn.Module, image: np.ndarray, pre: Preprocessing, device: torch.device) -> list:
        """The generator's attention map for ``image`` as an RGB image, in a list; empty for methods without one."""
        return []

    def validator(self, pre: Preprocessing, device: torch.device) -> CycleValidation:
        return CycleValidation(self, pre, device)


class CycleValidation:
    """A validation round of a two-way method: both cycles and identities of every example's two images."""

    def __init__(self, method: UnpairedMethod, pre: Preprocessing, device: torch.device) -> None:
        self.method, self.device = method, device
        self.pre_ab, self.pre_ba = pre, pre.reversed()
        self.gen_ab = prepare_generator(method.gen_ab, pre.bn_inference)
        self.gen_ba = prepare_generator(method.gen_ba, pre.bn_inference)
        self.identity = pre.input_channels == pre.output_channels
        # The example's "a" (network input domain) is the dataset's domain A unless the model translates B → A.
        self.names = oriented("a", "b", pre.direction)
        self.scores = CycleScores()

    def _translate(self, net: nn.Module, image: np.ndarray, pre: Preprocessing) -> np.ndarray:
        return translate_arrays(net, [image], pre, self.device)[0]

    def score(self, example: Example) -> list[np.ndarray]:
        real_a, real_b = example["a"], example["b"]
        fake_b = self._translate(self.gen_ab, real_a, self.pre_ab)
        rec_a = self._translate(self.gen_ba, fake_b, self.pre_ba)
        fake_a = self._translate(self.gen_ba, real_b, self.pre_ba)
        rec_b = self._translate(self.gen_ab, fake_a, self.pre_ab)
        idt_a = self._translate(self.gen_ba, real_a, self.pre_ba) if self.identity else None
        idt_b = self._translate(self.gen_ab, real_b, self.pre_ab) if self.identity else None
        name_a, name_b = self.names
        # Validation records cycle through the smaller domain; an image already scored is not counted twice.
        self.scores.add_many(
            [
                (name_a, example["path_a"], real_a, rec_a, idt_a),
                (name_b, example["path_b"], real_b, rec_b, idt_b),
            ]
        )
        attention = self.method.attention
        return [
            real_a,
            *attention(self.gen_ab, real_a, self.pre_ab, self.device),
            fake_b,
            rec_a,
            real_b,
            *attention(self.gen_ba, real_b, self.pre_ba, self.device),
            fake_a,
            rec_b,
        ]

    def metrics(self) -> dict[str, float]:
        return self.scores.means()


def attention_map(net: nn.Module, image: np.ndarray, pre: Preprocessing, device: torch.device) -> np.ndarray:
    """Runs ``net.forward_with_cam`` on one uint8 image, prepared as for translation; renders its heat-map."""
    padded, size = network_input(to_batch([image], device), pre)
    with torch.no_grad():
        _, _, heat = net.forward_with_cam(padded)
    heat = crop_to(F.interpolate(heat.float(), size=padded.shape[-2:], mode="bilinear"), size)
    heat = F.interpolate(heat, size=image.shape[:2], mode="bilinear")
    return heatmap_image(heat[0, 0].cpu().numpy())

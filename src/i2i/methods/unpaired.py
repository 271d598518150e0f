"""What the unpaired methods (CycleGAN, U-GAT-IT) share: two generators, one per direction, and how they are scored.

There is no ground truth for an unpaired example, so validation measures what can be measured: the cycle
reconstruction A → B → A and B → A → B (PSNR, SSIM against the original), and how far each generator moves an image
that already belongs to its output domain (identity L1). A sample-grid row shows real A | fake B | rec A and then
the other direction, with each generator's attention map before its output where the method has one.

Domain names follow the data: ``a`` is the network input domain and ``b`` the output domain after
``data.direction``; ``gen_ab`` maps a → b (what a release ships first) and ``gen_ba`` maps b → a.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from i2i.evaluation.metrics import image_metrics, l1
from i2i.evaluation.visuals import heatmap_image
from i2i.inference.translator import Preprocessing, prepare_generator, translate_arrays
from i2i.methods.base import Method, ValidationResult, Validator
from i2i.models.base import GeneratorConfig


class UnpairedMethod(Method):
    """Base of methods that learn both directions between two unpaired domains."""

    reversible: ClassVar[bool] = True
    sample_tag: ClassVar[str] = "samples/realA_fakeB_recA_realB_fakeA_recB"
    gen_ab: nn.Module
    gen_ba: nn.Module

    def translation(self) -> tuple[GeneratorConfig, nn.Module]:
        return self.config.generator, self.gen_ab  # type: ignore[attr-defined]

    def reverse_translation(self) -> tuple[GeneratorConfig, nn.Module]:
        return self.config.generator, self.gen_ba  # type: ignore[attr-defined]

    def attention(self, net: nn.Module, image: np.ndarray, pre: Preprocessing, device: torch.device) -> list:
        """The generator's attention map for ``image`` as an RGB image, in a list; empty for methods without one."""
        return []

    def validator(self, pre: Preprocessing, device: torch.device) -> Validator:
        pre_ba = pre.reversed()
        gen_ab = prepare_generator(self.gen_ab, pre.bn_inference)
        gen_ba = prepare_generator(self.gen_ba, pre.bn_inference)
        same_channels = pre.input_channels == pre.output_channels

        def score(example: dict[str, np.ndarray]) -> ValidationResult:
            real_a, real_b = example["a"], example["b"]
            (fake_b,) = translate_arrays(gen_ab, [real_a], pre, device)
            (rec_a,) = translate_arrays(gen_ba, [fake_b], pre_ba, device)
            (fake_a,) = translate_arrays(gen_ba, [real_b], pre_ba, device)
            (rec_b,) = translate_arrays(gen_ab, [fake_a], pre, device)
            cycle_a, cycle_b = image_metrics(rec_a, real_a), image_metrics(rec_b, real_b)
            metrics = {
                "cycle_psnr": (cycle_a["psnr"] + cycle_b["psnr"]) / 2,
                "cycle_ssim": (cycle_a["ssim"] + cycle_b["ssim"]) / 2,
                "cycle_psnr_a": cycle_a["psnr"],
                "cycle_psnr_b": cycle_b["psnr"],
                "cycle_ssim_a": cycle_a["ssim"],
                "cycle_ssim_b": cycle_b["ssim"],
            }
            if same_channels:  # a generator given an image of its output domain should leave it as it is
                (idt_a,) = translate_arrays(gen_ba, [real_a], pre_ba, device)
                (idt_b,) = translate_arrays(gen_ab, [real_b], pre, device)
                metrics["idt_l1"] = (l1(idt_a, real_a) + l1(idt_b, real_b)) / 2
            row = [
                real_a,
                *self.attention(gen_ab, real_a, pre, device),
                fake_b,
                rec_a,
                real_b,
                *self.attention(gen_ba, real_b, pre_ba, device),
                fake_a,
                rec_b,
            ]
            return ValidationResult(metrics, row)

        return score


def attention_map(net: nn.Module, image: np.ndarray, pre: Preprocessing, device: torch.device) -> np.ndarray:
    """Runs ``net.forward_with_cam`` on one uint8 image, prepared as for translation; renders its heat-map."""
    from i2i.data.processing import crop_to, normalize, pad_to_multiple, resize

    x = normalize(torch.from_numpy(np.require(image, requirements=("C", "W"))).permute(2, 0, 1)[None].to(device))
    if pre.fixed_size is not None:
        x = resize(x, (pre.fixed_size, pre.fixed_size), pre.resize_mode)
    padded, size = pad_to_multiple(x, pre.size_multiple)
    with torch.no_grad():
        _, _, heat = net.forward_with_cam(padded)
    heat = crop_to(F.interpolate(heat.float(), size=padded.shape[-2:], mode="bilinear"), size)
    heat = F.interpolate(heat, size=image.shape[:2], mode="bilinear")
    return heatmap_image(heat[0, 0].cpu().numpy())

"""int8 ONNX graphs (``i2i export --onnx --quantize int8``): a generator's fp32 graph quantized by onnxruntime's own
tools, and refused unless its images stay close to the fp32 graph's.

Static quantization in QDQ form: int8 weights per output channel, uint8 activations whose ranges are calibrated on
input images the user names (inputs of the model's trained direction, fed exactly as inference feeds them). Every
fourth image is kept out of calibration and used to check the result: the int8 graph's uint8 images must be within
``MIN_PSNR_DB`` of the fp32 graph's (mean PSNR over the check images), else nothing is written. On the bundled facades
model this costs 0.01 dB and 0.0014 SSIM against the photos of the 106 test pairs and makes the graph 4x smaller
(docs/benchmarks.md, "int8"); whether it is faster depends on the CPU's int8 instructions.

Calibration images are brought to the size the network runs at before anything else is done with them (one at a
time, as uint8): the release's fixed size, its ``infer_size`` short side, or for networks that run at any size a long
side of at most ``CALIBRATION_SIDE``. A 9000x9000 photo among the inputs would otherwise be fed to the graph at full
size, as floats (gigabytes before any result); activation ranges do not need the full size to be calibrated.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from i2i.errors import I2IError
from i2i.evaluation.metrics import psnr
from i2i.imageio import read_image, resize_image
from i2i.inference.preprocessing import Preprocessing
from i2i.portable.pixels import short_side_size
from i2i.portable.runtime import OnnxTranslator
from i2i.portable.session import onnxruntime_module, open_session

QUANTIZE = ("int8",)
MIN_IMAGES = 4  # calibration images at least (one of them checks)
MAX_IMAGES = 64  # at most this many are used
MIN_PSNR_DB = 30.0  # int8 images against fp32 images, mean over the check images
CALIBRATION_SIDE = 1024  # longest side of a calibration image for a network that runs at any size


def check_calibration(count: int) -> None:
    """Refuses fewer than ``MIN_IMAGES`` calibration images in one line."""
    if count < MIN_IMAGES:
        raise I2IError(
            f"--quantize int8 needs at least {MIN_IMAGES} calibration images (--calibration: inputs of the model's "
            f"trained direction), got {count}"
        )


def calibration_size(height: int, width: int, pre: Preprocessing) -> tuple[int, int]:
    """The (h, w) a calibration image of ``height`` x ``width`` is fed at: where inference resizes (a fixed size,
    an ``infer_size`` short side) that size, else the image's own size with its long side capped at
    ``CALIBRATION_SIDE`` (aspect kept): such a network runs at any size, and a smaller copy calibrates it as well."""
    if pre.fixed_size is not None:
        return pre.fixed_size, pre.fixed_size
    if pre.infer_size is not None:
        return short_side_size(height, width, pre.infer_size)
    scale = min(1.0, CALIBRATION_SIDE / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def network_sized(image: np.ndarray, pre: Preprocessing) -> np.ndarray:
    """``image`` (uint8) resized to ``calibration_size``, before any float copy of it is made."""
    return resize_image(image, calibration_size(*image.shape[:2], pre))


def read_calibration(paths: Sequence[str | Path], pre: Preprocessing) -> list[np.ndarray]:
    """The first ``MAX_IMAGES`` calibration images of ``paths``, each read and brought to ``calibration_size`` in
    turn, so at most one is held at full size. ``read_image`` reads each header first: an image over the pixel limit
    (``imageio.max_pixels``) is refused in one line naming it (ImageReadError) before any pixel is decoded."""
    return [network_sized(read_image(path, pre.input_channels), pre) for path in list(paths)[:MAX_IMAGES]]


def quantize_generator(
    fp32: OnnxTranslator, data: bytes, images: list[np.ndarray], what: str
) -> tuple[bytes, dict[str, Any]]:
    """The int8 graph of ``data`` (the fp32 graph ``fp32`` runs) and its ``quantized`` entry for config.json;
    I2IError in one line when there are too few images or the int8 images drift past ``MIN_PSNR_DB``. The images
    are brought to the network's size first (``network_sized``; done already by ``read_calibration``)."""
    check_calibration(len(images))
    images = [network_sized(im, fp32.pre) for im in images[:MAX_IMAGES]]
    check = images[::4]
    calibrate = [im for i, im in enumerate(images) if i % 4] or check
    onnxruntime_module()  # its one-line error when onnxruntime is missing
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Inputs(CalibrationDataReader):
        def __init__(self) -> None:
            self.feeds = iter({fp32.spec.input: fp32.network_input([im])[0]} for im in calibrate)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.feeds, None)

    # Its tools write temp files to the working directory: a temp folder of our own.
    with tempfile.TemporaryDirectory(prefix="i2i-int8-") as tmp, contextlib.chdir(tmp), _quiet():
        src, prepared, out = Path(tmp, "fp32.onnx"), Path(tmp, "prepared.onnx"), Path(tmp, "int8.onnx")
        src.write_bytes(data)
        try:
            # Symbolic shape inference cannot follow a U-Net's dynamic sizes; ONNX's own shape inference is kept.
            quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
            quantize_static(
                str(prepared), str(out), Inputs(), quant_format=QuantFormat.QDQ, per_channel=True,
                weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - onnxruntime's tools raise anything; say it in one line
            raise I2IError(f"{what}: int8 quantization failed ({type(exc).__name__}: {exc})"[:300]) from None
        quantized = out.read_bytes()
    try:
        session = open_session(quantized, "the int8 graph")
    except I2IError as exc:  # seen for U-GAT-IT light: a tensor name defined twice
        raise I2IError(f"{what}: int8 quantization wrote a graph onnxruntime cannot load ({exc})"[:300]) from None
    int8 = OnnxTranslator(session, fp32.pre, fp32.spec)
    # Identical images (infinite PSNR) count as 100 dB, so the mean stays a number config.json can hold.
    scores = [min(psnr(a, b), 100.0) for a, b in zip(int8(check), fp32(check), strict=True)]
    mean = float(np.mean(scores))
    if mean < MIN_PSNR_DB:
        raise I2IError(
            f"{what}: the int8 graph's images differ too much from the fp32 graph's (mean PSNR {mean:.1f} dB over "
            f"{len(check)} check image(s), at least {MIN_PSNR_DB:g} dB needed); nothing was written"
        )
    return quantized, {
        "type": "int8",
        "format": "QDQ, int8 weights per channel, uint8 activations",
        "calibration_images": len(calibrate),
        "check_images": len(check),
        "psnr_vs_fp32_db": round(mean, 2),
        "min_psnr_db": MIN_PSNR_DB,
    }


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """onnxruntime's tools log warnings on the root logger for what they handle themselves (per-tensor ranges for
    the 1-D weights of instance norms); a user gets the one-line result instead."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)

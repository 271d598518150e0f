"""The package's only image reader and writer: every Pillow mode in, uint8 arrays of 1 or 3 channels out.

Rules shared by training, evaluation, translation and the demo:
- EXIF orientation is applied, so the pixels are the way a photo viewer shows them.
- Alpha (RGBA, LA, transparent palettes) is composited onto white, the usual background of drawings and sketches.
- 16-bit and 32-bit integer images are scaled to 8 bits (0..65535 → 0..255); float images must hold values in [0, 1].
- Pillow's decompression-bomb limit stays on; any failure raises ImageReadError naming the file and the reason.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from i2i.atomic import atomic_write
from i2i.errors import I2IError

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".gif"}
)
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_WRITE_OPTIONS = {".jpg": {"quality": 95}, ".jpeg": {"quality": 95}, ".webp": {"quality": 95}}


class ImageReadError(I2IError):
    """An image file cannot be used; ``str(err)`` is one line: ``path: reason``."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class ImageInfo:
    """What the header says about an image (size after EXIF rotation), without decoding its pixels."""

    path: str
    width: int
    height: int
    mode: str
    format: str


def is_image_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _open(path: Path) -> Image.Image:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read ({exc.strerror})") from None
    if not path.is_file():
        raise ImageReadError(path, "not a file")
    if size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")
    try:
        # Above Image.MAX_IMAGE_PIXELS Pillow warns; above twice that it refuses (DecompressionBombError).
        return Image.open(path)
    except Image.DecompressionBombError as exc:
        raise ImageReadError(path, f"refused as a possible decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise ImageReadError(path, f"not a readable image ({_sniff(path)})") from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(path, f"corrupt image header ({exc})") from None


def _sniff(path: Path) -> str:
    """A short description of what a file that is not an image seems to hold."""
    try:
        with path.open("rb") as f:
            head = f.read(512)
    except OSError:
        return "unreadable"
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "the file holds text, not image data"
    return "unknown or unsupported format"


def probe_image(path: str | Path) -> ImageInfo:
    """Reads only the header: size (after EXIF rotation), mode and format. Raises ImageReadError."""
    path = Path(path)
    with _open(path) as im:
        width, height = im.size
        orientation = 1
        # Pillow's PNG getexif() decodes every pixel to look for an eXIf chunk after the image data; a PNG's
        # orientation is therefore read only from a chunk before the data (where writers put it).
        if im.format != "PNG" or "exif" in im.info:
            try:
                orientation = im.getexif().get(0x0112, 1)
            except Exception:  # a broken EXIF block is not fatal for the header probe
                orientation = 1
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        return ImageInfo(str(path), width, height, im.mode, im.format or "")


def read_image(path: str | Path, channels: int = 3) -> np.ndarray:
    """Decodes an image fully into a (H, W, channels) uint8 array. Raises ImageReadError with a one-line reason.

    Args:
        path: the image file.
        channels: 1 (grayscale, ITU-R 601 luma) or 3 (RGB).
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    path = Path(path)
    with _open(path) as im:
        try:
            im.load()
            im = ImageOps.exif_transpose(im)
            array = _to_uint8(im, channels)
        except _UnsupportedPixels as exc:
            raise ImageReadError(path, str(exc)) from None
        except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
            raise ImageReadError(path, f"truncated or corrupt image data ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - hostile files can trip any decoder error; name it, don't crash
            raise ImageReadError(path, f"cannot decode image ({type(exc).__name__}: {exc})") from None
    if array.size == 0:
        raise ImageReadError(path, "image has zero width or height")
    return array


class _UnsupportedPixels(Exception):
    """Decoded pixels that have no faithful 8-bit form."""


def _to_uint8(im: Image.Image, channels: int) -> np.ndarray:
    mode = im.mode
    if mode == "P" and "transparency" in im.info:
        im, mode = im.convert("RGBA"), "RGBA"
    if mode in _ALPHA_MODES:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba).convert("RGB")
    elif mode.startswith("I;16") or mode == "I":
        data = np.asarray(im).astype(np.int64)
        if data.size and (data.min() < 0 or data.max() > 65535):
            raise _UnsupportedPixels(f"{mode} image with values outside 0..65535")
        im = Image.fromarray(((data * 255 + 32767) // 65535).astype(np.uint8), mode="L")
    elif mode == "F":
        data = np.asarray(im, dtype=np.float64)
        if data.size and (not np.isfinite(data).all() or data.min() < 0 or data.max() > 1):
            raise _UnsupportedPixels("float image with values outside [0, 1]")
        im = Image.fromarray(np.round(data * 255).astype(np.uint8), mode="L")
    target = "L" if channels == 1 else "RGB"
    if im.mode != target:
        im = im.convert(target)
    array = np.asarray(im, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return np.ascontiguousarray(array)


def to_channels(array: np.ndarray, channels: int) -> np.ndarray:
    """Converts a (H, W, 1|3) uint8 array to ``channels`` with the same rules as read_image."""
    if array.shape[2] == channels:
        return array
    mode = "L" if array.shape[2] == 1 else "RGB"
    im = Image.fromarray(array[:, :, 0] if mode == "L" else array, mode=mode)
    out = np.asarray(im.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
    return out[:, :, None] if out.ndim == 2 else out


def write_image(path: str | Path, array: np.ndarray) -> None:
    """Writes a (H, W, 1|3) uint8 array atomically (temp file + rename); the format follows the file extension."""
    path = Path(path)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] not in (1, 3):
        raise ValueError(f"expected a (H, W, 1|3) uint8 array, got {array.dtype} {array.shape}")
    im = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    suffix = path.suffix.lower()
    buffer = io.BytesIO()
    im.save(buffer, format=Image.registered_extensions().get(suffix, "PNG"), **_WRITE_OPTIONS.get(suffix, {}))
    atomic_write(path, buffer.getvalue())


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resizes a (H, W, C) uint8 image to ``size`` = (h, w) with Pillow's bicubic filter."""
    if image.shape[:2] == tuple(size):
        return image
    im = Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image)
    out = np.asarray(im.resize((size[1], size[0]), Image.Resampling.BICUBIC))
    return out.reshape(size[0], size[1], image.shape[2])

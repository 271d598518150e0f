"""The package's only image reader and writer: every Pillow mode in, uint8 arrays of 1 or 3 channels out.

Rules shared by training, evaluation, translation and the demo:
- EXIF orientation is applied, so the pixels are the way a photo viewer shows them.
- Alpha (RGBA, LA, transparent palettes) is composited onto white, the usual background of drawings and sketches.
- 16-bit and 32-bit integer images are scaled to 8 bits (0..65535 → 0..255); float images must hold values in [0, 1].
- One pixel limit (width × height) for every read: ``max_pixels()``, by default Pillow's own default
  (89478485), set by ``set_max_pixels``, ``i2i --max-pixels N`` or the ``I2I_MAX_PIXELS`` environment variable
  (which DataLoader workers inherit). It is checked from the header, before any pixel is decoded; Pillow's own
  decompression-bomb check (which only warns between its limit and twice that) is lifted while the header is read,
  so that this limit decides alone and no DecompressionBombWarning ever reaches the user.
- Only regular files are opened (a FIFO would block forever); any failure raises ImageReadError naming the file
  and the reason, on one line.
"""

from __future__ import annotations

import io
import os
import stat
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from i2i.atomic import atomic_write
from i2i.errors import ConfigError, I2IError, show_path

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".gif"}
)
# Image formats people keep in photo folders that i2i does not read: listed by name (never silently skipped).
UNSUPPORTED_IMAGE_EXTENSIONS = frozenset(
    {".heic", ".heif", ".avif", ".jxl", ".svg", ".svgz", ".raw", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf"}
    | {".rw2", ".raf", ".psd", ".xcf", ".exr", ".hdr", ".jp2", ".j2k", ".ico", ".tga"}
)
DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's shipped Image.MAX_IMAGE_PIXELS (1024 * 1024 * 1024 // 4 // 3)
MAX_PIXELS_ENV = "I2I_MAX_PIXELS"
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_WRITE_OPTIONS = {".jpg": {"quality": 95}, ".jpeg": {"quality": 95}, ".webp": {"quality": 95}}


class ImageReadError(I2IError):
    """An image file cannot be used; ``str(err)`` is one line: ``path: reason`` (the path via ``show_path``)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{show_path(path)}: {reason}")


class ImageTooLargeError(ImageReadError):
    """An image whose header declares more pixels than ``max_pixels()``; nothing was decoded."""

    def __init__(self, path: str | Path, width: int, height: int, limit: int) -> None:
        self.width, self.height, self.limit = width, height, limit
        reason = (
            f"{width}x{height} = {width * height} pixels is over the limit of {limit} pixels "
            "(raise it with --max-pixels or I2I_MAX_PIXELS)"
        )
        super().__init__(path, reason)


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


def is_unsupported_image_file(path: str | Path) -> bool:
    """A file named like an image format that i2i does not read (``.heic``, ``.avif``, ``.svg``, camera raw, ...)."""
    return Path(path).suffix.lower() in UNSUPPORTED_IMAGE_EXTENSIONS


def unsupported_reason(path: str | Path) -> str:
    """The one-line note for a file of an unsupported image format."""
    return f"unsupported format {Path(path).suffix.lower()} (convert it to PNG or JPEG)"


_FILE_KINDS = (
    (stat.S_ISREG, "a file"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def file_kind(mode: int) -> str:
    """What a file system entry with this ``st_mode`` is, for messages: 'a file', 'a directory', 'a FIFO', ..."""
    return next((name for test, name in _FILE_KINDS if test(mode)), "a special file")


def not_a_file_reason(mode: int) -> str | None:
    """Why an entry with this ``st_mode`` cannot be an image (a directory, FIFO, socket, device), or None if regular.

    The one wording for such entries, wherever a path named like an image turns out not to be a file.
    """
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory, not an image"
    return f"not a regular file ({file_kind(mode).split(' ', 1)[1]})"


# --- the pixel limit -----------------------------------------------------------------------------------------------


def parse_max_pixels(text: str, source: str) -> int:
    """A pixel limit from text (``source`` names where it came from, for the error). Raises ConfigError."""
    try:
        value = int(text.strip())
    except ValueError:
        raise ConfigError(f"{source}: expected a positive integer (a number of pixels), got {text!r}") from None
    if value < 1:
        raise ConfigError(f"{source}: expected a positive integer (a number of pixels), got {value}")
    return value


def max_pixels() -> int:
    """The largest image (width × height) i2i reads: ``I2I_MAX_PIXELS`` if set (and not empty), else the default.

    Read from the environment on every call, so worker processes started later use the same limit.
    Raises ConfigError naming the variable when it is not a positive integer.
    """
    text = os.environ.get(MAX_PIXELS_ENV, "").strip()
    return parse_max_pixels(text, MAX_PIXELS_ENV) if text else DEFAULT_MAX_PIXELS


def set_max_pixels(limit: int | None) -> None:
    """Sets the pixel limit for this process and the processes it starts (via ``I2I_MAX_PIXELS``); None: default."""
    if limit is None:
        os.environ.pop(MAX_PIXELS_ENV, None)
        return
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"the pixel limit must be a positive integer, got {limit!r}")
    os.environ[MAX_PIXELS_ENV] = str(limit)


def take_max_pixels_option(argv: list[str]) -> list[str]:
    """``i2i --max-pixels N COMMAND ...``: applies a leading ``--max-pixels N`` (or ``=N``) and returns the rest."""
    if not argv or argv[0].split("=", 1)[0] != "--max-pixels":
        return argv
    if "=" in argv[0]:
        text, rest = argv[0].split("=", 1)[1], argv[1:]
    elif len(argv) > 1:
        text, rest = argv[1], argv[2:]
    else:
        raise ConfigError("--max-pixels: expected a positive integer (a number of pixels) before the command")
    set_max_pixels(parse_max_pixels(text, "--max-pixels"))
    return rest


# Pillow's bomb check reads a module global, so lifting it is done under a lock; only the header read is inside.
_PILLOW_LIMIT_LOCK = threading.Lock()


def _open_header(path: Path | io.BytesIO, limit: int) -> Image.Image:
    """Image.open (of a file or bytes in memory) with Pillow's own bomb check lifted (this module's limit decides)
    and never below ``limit``."""
    with _PILLOW_LIMIT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        pillow_limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(path)
        finally:
            # Decoders check again while loading (TIFF tiles, GIF frames): never below the limit set for i2i.
            Image.MAX_IMAGE_PIXELS = pillow_limit if pillow_limit is None or pillow_limit >= limit else limit


def _open(path: Path) -> Image.Image:
    """Opens a regular image file and reads its header; refuses it (ImageReadError) when it is over the limit."""
    limit = max_pixels()
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read ({exc.strerror or exc})") from None
    if reason := not_a_file_reason(info.st_mode):  # before opening: open() on a FIFO blocks until a writer comes
        raise ImageReadError(path, reason)
    if info.st_size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")
    return _open_checked(path, path, limit)


def _open_checked(source: Path | io.BytesIO, name: str | Path, limit: int) -> Image.Image:
    """Opens ``source`` (a file, or bytes in memory named ``name`` in messages) and reads its header; refuses it
    (ImageReadError naming ``name``) when it is not an image or is over ``limit`` pixels."""
    try:
        im = _open_header(source, limit)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # a plugin's own size check
        raise ImageReadError(name, f"over the limit of {limit} pixels ({exc})") from None
    except UnidentifiedImageError:
        if is_unsupported_image_file(name):
            raise ImageReadError(name, unsupported_reason(name)) from None
        raise ImageReadError(name, f"not a readable image ({_sniff(source)})") from None
    except PermissionError:
        raise ImageReadError(name, "permission denied") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(name, f"corrupt image header ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - hostile headers can trip any plugin error; name it, don't crash
        raise ImageReadError(name, f"corrupt image header ({type(exc).__name__}: {exc})") from None
    width, height = im.size
    if width * height > limit:
        im.close()
        raise ImageTooLargeError(name, width, height, limit)
    return im


def _sniff(source: Path | io.BytesIO) -> str:
    """A short description of what a file (or bytes) that is not an image seems to hold."""
    if isinstance(source, io.BytesIO):
        head = source.getvalue()[:512]
    else:
        try:
            with source.open("rb") as f:
                head = f.read(512)
        except OSError:
            return "unreadable"
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return (
            "the data is text, not an image"
            if isinstance(source, io.BytesIO)
            else "the file holds text, not image data"
        )
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
        return _decode(im, path, channels)


def decode_image(data: bytes, name: str, channels: int = 3, limit: int | None = None) -> np.ndarray:
    """Decodes image bytes held in memory (an upload) like ``read_image`` decodes a file: same rules, same one-line
    errors, naming ``name``. ``limit``: the pixel limit (None: ``max_pixels()``), checked from the header first.

    Raises ImageReadError (ImageTooLargeError when over the limit).
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if not data:
        raise ImageReadError(name, "empty (0 bytes)")
    with _open_checked(io.BytesIO(data), name, max_pixels() if limit is None else limit) as im:
        return _decode(im, name, channels)


def _decode(im: Image.Image, name: str | Path, channels: int) -> np.ndarray:
    """The pixels of an opened image as a (H, W, channels) uint8 array; ImageReadError naming ``name``."""
    try:
        im.load()
        im = ImageOps.exif_transpose(im)
        array = _to_uint8(im, channels)
    except _UnsupportedPixels as exc:
        raise ImageReadError(name, str(exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise ImageReadError(name, f"truncated or corrupt image data ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - hostile files can trip any decoder error; name it, don't crash
        raise ImageReadError(name, f"cannot decode image ({type(exc).__name__}: {exc})") from None
    if array.size == 0:
        raise ImageReadError(name, "image has zero width or height")
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

"""A corpus of hostile and unusual image files, written at test time, for any command that reads images.

Usage (``tests/`` is on ``sys.path``, so ``from hostile.corpus import ...`` works from any test)::

    from hostile.corpus import OK, write_hostile_images

    expected = write_hostile_images(tmp_path / "photos")  # {file name: OK or a piece of the error}
    for name, want in expected.items():
        ...  # OK: the file reads like any image; otherwise the one-line error for it contains ``want``

Each entry is one file (or FIFO, or folder) directly in ``folder``, with a stem of its own (tools that pair files by
stem, such as ``data combine``, see no clash); the expected value is what
``i2i.imageio.read_image`` says: ``OK`` (the string 'ok') for a file that decodes, else a substring of its one-line
``ImageReadError``. (``probe_image`` reads headers only, so it also accepts the two truncated files.) Every error
must name the file (as ``i2i.errors.show_path`` shows it: the name with a line break is escaped) and fit on one
line; nothing may hang (the FIFO has no writer: opening it would block forever) or print a traceback.

The whole corpus takes a few milliseconds to write and under 100 KB on disk; the huge image is a valid
10000×10000 1-bit PNG of about 12 KB, over the default pixel limit (89478485 pixels).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

OK = "ok"
T = TypeVar("T")

HUGE_SIDE = 10_000
HUGE_ERROR = f"{HUGE_SIDE}x{HUGE_SIDE} = {HUGE_SIDE * HUGE_SIDE} pixels is over the limit of"

# Substrings of the errors (read_image's wording), shared with the tests of each command.
TRUNCATED = "truncated or corrupt image data"
EMPTY = "empty file (0 bytes)"
TEXT = "the file holds text, not image data"
FIFO = "not a regular file (FIFO)"
DIRECTORY = "a directory, not an image"

NEWLINE_NAME = "new\nline.png"


def _noise(height: int, width: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _cut_in_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_huge_png(path: Path, side: int = HUGE_SIDE) -> Path:
    """A valid side×side 1-bit black PNG, compressed in blocks of rows: ~15 KB on disk, side² pixels decoded."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed pixels
    compressor = zlib.compressobj(9)
    blocks, rest = divmod(side, 1000)
    data = [compressor.compress(row * 1000) for _ in range(blocks)] + [compressor.compress(row * rest)]
    data.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # bit depth 1, grayscale
    png = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", b"".join(data))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png + _png_chunk(b"IEND", b""))
    return path


def write_hostile_images(folder: Path, fifo: bool = True) -> dict[str, str]:
    """Writes the corpus into ``folder`` (created if needed) and returns {entry name: OK or an error substring}.

    Args:
        folder: where the entries go; it should hold nothing else that a test counts.
        fifo: also make ``fifo.png``, a FIFO without a writer (skipped where ``os.mkfifo`` does not exist). Leave it
            out for tests that run a command in the test process: a command that opened it would hang the test.
    """
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}

    for name, size, seed in (("cut_png.png", (40, 48), 1), ("cut_jpeg.jpg", (40, 48), 2)):
        Image.fromarray(_noise(*size, seed)).save(folder / name)
        _cut_in_half(folder / name)
        expected[name] = TRUNCATED

    (folder / "empty.png").write_bytes(b"")
    expected["empty.png"] = EMPTY

    (folder / "notes.png").write_text("this is a text file with an image name\nsecond line\n", encoding="utf-8")
    expected["notes.png"] = TEXT

    write_huge_png(folder / "huge.png")
    expected["huge.png"] = HUGE_ERROR

    if fifo and hasattr(os, "mkfifo"):
        os.mkfifo(folder / "fifo.png")
        expected["fifo.png"] = FIFO

    (folder / "folder.png").mkdir()
    expected["folder.png"] = DIRECTORY

    Image.fromarray(_noise(20, 28, 3)).save(folder / NEWLINE_NAME)
    expected[NEWLINE_NAME] = OK

    ramp = (np.arange(24 * 32, dtype=np.uint32).reshape(24, 32) * 85).astype(np.uint16)  # 0..65195
    Image.fromarray(ramp).save(folder / "sixteen_bit.png")  # mode I;16
    expected["sixteen_bit.png"] = OK

    palette = Image.new("P", (30, 22), 0)
    palette.putpalette([255, 0, 0, 0, 128, 255] + [0] * 762)
    palette.paste(1, (5, 5, 20, 15))
    palette.save(folder / "palette_alpha.png", transparency=0)
    expected["palette_alpha.png"] = OK

    Image.new("CMYK", (26, 18), (0, 200, 200, 30)).save(folder / "cmyk.jpg", quality=95)
    expected["cmyk.jpg"] = OK

    frames = [Image.new("RGB", (24, 24), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
    expected["animated.gif"] = OK

    Image.new("RGB", (1, 1), (10, 200, 30)).save(folder / "one_pixel.png")
    expected["one_pixel.png"] = OK
    return expected


def good(expected: dict[str, str]) -> list[str]:
    """The names of the entries that read fine, sorted."""
    return sorted(name for name, want in expected.items() if want == OK)


def bad(expected: dict[str, str]) -> list[str]:
    """The names of the entries that must be refused, sorted."""
    return sorted(name for name, want in expected.items() if want != OK)


def run_with_timeout(call: Callable[[], T], seconds: float = 30) -> T:
    """``call()`` in a daemon thread: its result (or exception), or TimeoutError when it takes longer than ``seconds``.

    For in-process calls that could hang (opening a FIFO blocks forever): a daemon thread left blocked does not keep
    the test session from exiting, as a pytest-timeout signal or a thread pool's worker would.
    """
    outcome: list[tuple[bool, object]] = []

    def target() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome.append((False, exc))

    thread = threading.Thread(target=target, daemon=True, name="hostile-call")
    thread.start()
    thread.join(seconds)
    if not outcome:
        raise TimeoutError(f"still running after {seconds} s: a hang (a FIFO opened for reading?)")
    ok, value = outcome[0]
    if not ok:
        raise value  # type: ignore[misc]
    return value  # type: ignore[return-value]


def run_i2i(
    args: Sequence[str], timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``python -m i2i.cli ARGS`` in a child process (text output), killed after ``timeout`` seconds.

    For commands given the FIFO: a hang fails the test (subprocess.TimeoutExpired) instead of blocking the session.
    ``env`` entries are added to this process's environment.
    """
    return subprocess.run(
        [sys.executable, "-m", "i2i.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )

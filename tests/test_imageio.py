"""Tests for i2i.imageio (and i2i.atomic): every Pillow mode in, uint8 arrays out, and one-line errors for every
bad file."""

from __future__ import annotations

import os
import stat
import struct
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hostile.corpus import HUGE_ERROR, run_with_timeout, write_huge_png
from PIL import Image

from i2i.errors import ConfigError
from i2i.imageio import (
    DEFAULT_MAX_PIXELS,
    MAX_PIXELS_ENV,
    ImageReadError,
    ImageTooLargeError,
    decode_image,
    file_kind,
    is_image_file,
    is_unsupported_image_file,
    max_pixels,
    not_a_file_reason,
    probe_image,
    read_image,
    set_max_pixels,
    take_max_pixels_option,
    to_channels,
    write_image,
)


def save(path: Path, im: Image.Image, **options: object) -> Path:
    """Saves a Pillow image to ``path`` and returns the path."""
    im.save(path, **options)
    return path


def mode_of(path: Path) -> str:
    """The Pillow mode a file opens in."""
    with Image.open(path) as im:
        return im.mode


def luma(rgb: tuple[int, int, int]) -> float:
    """ITU-R 601 luma of an RGB colour, as a float."""
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b


def read_both(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Reads ``path`` as 1 and as 3 channels, checking shape and dtype of both."""
    gray, rgb = read_image(path, channels=1), read_image(path, channels=3)
    assert gray.dtype == np.uint8 and rgb.dtype == np.uint8
    assert gray.shape == rgb.shape[:2] + (1,)
    assert rgb.shape[2] == 3
    return gray, rgb


# --- Pillow modes -------------------------------------------------------------------------------------------------


def test_mode_l_reads_exactly_and_replicates_to_rgb(tmp_path: Path) -> None:
    """An 8-bit grayscale PNG reads exactly; as RGB its channel is copied three times."""
    pixels = np.arange(0, 240, dtype=np.uint8).reshape(12, 20)
    gray, rgb = read_both(save(tmp_path / "l.png", Image.fromarray(pixels)))
    assert gray.shape == (12, 20, 1)
    np.testing.assert_array_equal(gray[:, :, 0], pixels)
    for c in range(3):
        np.testing.assert_array_equal(rgb[:, :, c], pixels)


def test_mode_rgb_reads_exactly_and_uses_luma_for_gray(tmp_path: Path) -> None:
    """An RGB PNG reads exactly; as one channel it becomes ITU-R 601 luma, not the mean or one channel."""
    pixels = np.zeros((2, 2, 3), dtype=np.uint8)
    pixels[0, 0], pixels[0, 1], pixels[1, 0], pixels[1, 1] = (255, 0, 0), (0, 255, 0), (0, 0, 255), (10, 200, 90)
    gray, rgb = read_both(save(tmp_path / "rgb.png", Image.fromarray(pixels)))
    np.testing.assert_array_equal(rgb, pixels)
    expected = np.array([[luma(tuple(pixels[y, x])) for x in range(2)] for y in range(2)])
    assert np.abs(gray[:, :, 0] - expected).max() <= 1.0
    assert gray[0, 0, 0] == pytest.approx(76, abs=1) and gray[0, 1, 0] == pytest.approx(150, abs=1)


def test_mode_rgba_composites_onto_white(tmp_path: Path) -> None:
    """RGBA: opaque pixels keep their colour, fully transparent ones become white, half-transparent ones blend."""
    pixels = np.array([[[200, 10, 30, 255], [0, 0, 0, 0], [0, 0, 0, 128]]], dtype=np.uint8)
    gray, rgb = read_both(save(tmp_path / "rgba.png", Image.fromarray(pixels, mode="RGBA")))
    assert rgb.shape == (1, 3, 3)
    assert tuple(rgb[0, 0]) == (200, 10, 30)
    assert tuple(rgb[0, 1]) == (255, 255, 255)
    assert all(abs(int(v) - 127) <= 1 for v in rgb[0, 2])
    assert gray[0, 1, 0] == 255


def test_mode_la_composites_onto_white(tmp_path: Path) -> None:
    """LA: an opaque pixel keeps its gray value, a fully transparent one becomes white."""
    pixels = np.array([[[40, 255], [40, 0]]], dtype=np.uint8)
    gray, rgb = read_both(save(tmp_path / "la.png", Image.fromarray(pixels, mode="LA")))
    assert mode_of(tmp_path / "la.png") == "LA"
    assert gray[0, :, 0].tolist() == [40, 255]
    assert rgb[0].tolist() == [[40, 40, 40], [255, 255, 255]]


def palette_image(indices: np.ndarray) -> Image.Image:
    """A P-mode image whose palette entry 0 is red, 1 green, 2 blue, 3 black."""
    im = Image.fromarray(indices.astype(np.uint8), mode="P")
    im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0])
    return im


def test_mode_p_without_transparency_uses_the_palette(tmp_path: Path) -> None:
    """A palette PNG reads as the palette colours of its indices."""
    path = save(tmp_path / "p.png", palette_image(np.array([[0, 1, 2, 3]])))
    assert mode_of(path) == "P"
    gray, rgb = read_both(path)
    assert rgb[0].tolist() == [[255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 0, 0]]
    assert gray[0, 3, 0] == 0 and gray[0, 0, 0] == pytest.approx(76, abs=1)


def test_mode_p_with_transparency_entry_becomes_white(tmp_path: Path) -> None:
    """A palette PNG with a transparent index: those pixels become white, the others keep their colour."""
    path = save(tmp_path / "pt.png", palette_image(np.array([[0, 1, 2, 3]])), transparency=3)
    with Image.open(path) as im:
        assert im.mode == "P" and "transparency" in im.info
    gray, rgb = read_both(path)
    assert rgb[0].tolist() == [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]
    assert gray[0, 3, 0] == 255


def test_mode_1_bilevel_maps_to_0_and_255(tmp_path: Path) -> None:
    """A 1-bit image reads as 0 (black) and 255 (white)."""
    bits = np.array([[True, False, True, False]])
    path = save(tmp_path / "bits.png", Image.fromarray(bits))
    assert mode_of(path) == "1"
    gray, rgb = read_both(path)
    assert gray[0, :, 0].tolist() == [255, 0, 255, 0]
    assert rgb[0, 1].tolist() == [0, 0, 0] and rgb[0, 0].tolist() == [255, 255, 255]


def test_mode_i16_png_scales_to_8_bits(tmp_path: Path) -> None:
    """A 16-bit PNG is scaled 0..65535 → 0..255 (not clipped, not truncated to the low byte)."""
    values = np.array([[0, 65535, 32896, 257, 1000]], dtype=np.uint16)
    path = save(tmp_path / "deep.png", Image.fromarray(values))
    assert mode_of(path).startswith("I;16")
    gray, rgb = read_both(path)
    assert gray[0, :, 0].tolist()[:4] == [0, 255, 128, 1]
    assert gray[0, 4, 0] == 4  # 1000 / 257 ≈ 3.9
    np.testing.assert_array_equal(rgb[:, :, 1], gray[:, :, 0])


def test_mode_i_32bit_tiff_in_16bit_range(tmp_path: Path) -> None:
    """A 32-bit integer TIFF holding 0..65535 is scaled like 16-bit data."""
    values = np.array([[0, 65535, 32896]], dtype=np.int32)
    path = save(tmp_path / "int.tif", Image.fromarray(values))
    assert mode_of(path) == "I"
    gray, rgb = read_both(path)
    assert gray[0, :, 0].tolist() == [0, 255, 128]
    assert rgb[0, 2].tolist() == [128, 128, 128]


@pytest.mark.parametrize("bad", [-1, 70000])
def test_mode_i_out_of_range_is_refused(tmp_path: Path, bad: int) -> None:
    """A 32-bit integer image with values outside 0..65535 raises ImageReadError, not a silent wrap."""
    path = save(tmp_path / "int.tif", Image.fromarray(np.array([[0, bad]], dtype=np.int32)))
    with pytest.raises(ImageReadError, match="outside 0..65535") as info:
        read_image(path)
    assert str(path) in str(info.value)


def test_mode_f_float_tiff_in_unit_range(tmp_path: Path) -> None:
    """A float TIFF in [0, 1] maps 0 → 0, 1 → 255 and 0.5 → 128 (rounded)."""
    values = np.array([[0.0, 1.0, 0.5, 0.25]], dtype=np.float32)
    path = save(tmp_path / "float.tif", Image.fromarray(values))
    assert mode_of(path) == "F"
    gray, rgb = read_both(path)
    assert gray[0, :, 0].tolist() == [0, 255, 128, 64]
    assert rgb[0, 1].tolist() == [255, 255, 255]


@pytest.mark.parametrize("bad", [1.5, -0.25, float("nan")])
def test_mode_f_out_of_range_is_refused(tmp_path: Path, bad: float) -> None:
    """A float image with values outside [0, 1] (or NaN) raises ImageReadError naming the file."""
    path = save(tmp_path / "float.tif", Image.fromarray(np.array([[0.5, bad]], dtype=np.float32)))
    with pytest.raises(ImageReadError, match=r"outside \[0, 1\]") as info:
        read_image(path, channels=1)
    assert info.value.path == str(path)


CMYK_COLOURS = [(0, 0, 0, 0), (0, 255, 255, 0), (0, 0, 0, 255), (255, 0, 255, 0)]
RGB_OF_CMYK = [(255, 255, 255), (255, 0, 0), (0, 0, 0), (0, 255, 0)]


def cmyk_image() -> Image.Image:
    """A CMYK image of four 16×16 blocks: white, red, black (K) and green."""
    blocks = [np.full((16, 16, 4), c, dtype=np.uint8) for c in CMYK_COLOURS]
    return Image.fromarray(np.concatenate(blocks, axis=1), mode="CMYK")


@pytest.mark.parametrize(("name", "tolerance"), [("cmyk.tif", 0), ("cmyk.jpg", 12)])
def test_mode_cmyk_converts_to_rgb(tmp_path: Path, name: str, tolerance: int) -> None:
    """CMYK TIFF (exactly) and JPEG (within JPEG loss) read as the RGB colours of their inks."""
    path = save(tmp_path / name, cmyk_image(), **({"quality": 100} if name.endswith(".jpg") else {}))
    assert mode_of(path) == "CMYK"
    gray, rgb = read_both(path)
    assert rgb.shape == (16, 64, 3)
    for i, expected in enumerate(RGB_OF_CMYK):
        centre = rgb[8, 16 * i + 8].astype(int)
        assert np.abs(centre - np.array(expected)).max() <= tolerance, (i, centre, expected)
        assert abs(int(gray[8, 16 * i + 8, 0]) - luma(expected)) <= tolerance + 1


def test_channels_argument_is_validated(tmp_path: Path) -> None:
    """Only 1 or 3 channels can be asked for."""
    path = save(tmp_path / "x.png", Image.new("RGB", (4, 4)))
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        read_image(path, channels=4)


# --- EXIF orientation ----------------------------------------------------------------------------------------------


def rotated_jpeg(path: Path) -> Path:
    """A 48×16 (W×H) gray JPEG with a red 8×8 block in its stored top-left corner and EXIF Orientation=6."""
    pixels = np.full((16, 48, 3), 128, dtype=np.uint8)
    pixels[:8, :8] = (255, 0, 0)
    im = Image.fromarray(pixels)
    exif = im.getexif()
    exif[0x0112] = 6
    im.save(path, exif=exif, quality=95)
    return path


def test_exif_orientation_is_applied_by_read_image(tmp_path: Path) -> None:
    """Orientation 6 (rotate 90° clockwise to view): 48×16 stored pixels read as 16 wide × 48 high."""
    path = rotated_jpeg(tmp_path / "rotated.jpg")
    with Image.open(path) as im:
        assert im.size == (48, 16)
    rgb = read_image(path)
    assert rgb.shape == (48, 16, 3)
    assert read_image(path, channels=1).shape == (48, 16, 1)


def test_exif_orientation_moves_marker_where_a_viewer_shows_it(tmp_path: Path) -> None:
    """Orientation 6: stored row 0 is the visual right side and column 0 the visual top: the marker shows top-right."""
    rgb = read_image(rotated_jpeg(tmp_path / "rotated.jpg")).astype(int)
    top_right, top_left = rgb[4, 12], rgb[4, 3]
    bottom_left = rgb[44, 3]
    assert top_right[0] > 200 and top_right[1] < 60 and top_right[2] < 60
    assert np.abs(top_left - 128).max() < 30
    assert np.abs(bottom_left - 128).max() < 30


def test_probe_image_reports_size_after_exif_rotation(tmp_path: Path) -> None:
    """probe_image swaps width and height for a rotated JPEG and reports mode and format."""
    info = probe_image(rotated_jpeg(tmp_path / "rotated.jpg"))
    assert (info.width, info.height) == (16, 48)
    assert info.format == "JPEG" and info.mode == "RGB"
    assert info.path == str(tmp_path / "rotated.jpg")


def test_probe_image_plain_png(tmp_path: Path) -> None:
    """probe_image reports the header size of an unrotated image."""
    info = probe_image(save(tmp_path / "plain.png", Image.new("L", (30, 7))))
    assert (info.width, info.height, info.mode, info.format) == (30, 7, "L", "PNG")


# --- bad files -----------------------------------------------------------------------------------------------------


def noise_image(size: tuple[int, int] = (64, 64)) -> Image.Image:
    """An RGB noise image: large when compressed, so half of its bytes cut into the pixel data."""
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def truncated(path: Path) -> Path:
    """Writes a valid noise image at ``path`` (format from its extension) and cuts its bytes in half."""
    noise_image().save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def bad_empty(tmp_path: Path) -> Path:
    """A 0-byte .png."""
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    return path


def bad_truncated_png(tmp_path: Path) -> Path:
    """A PNG cut in half."""
    return truncated(tmp_path / "cut.png")


def bad_truncated_jpeg(tmp_path: Path) -> Path:
    """A JPEG cut in half."""
    return truncated(tmp_path / "cut.jpg")


def bad_text_as_jpg(tmp_path: Path) -> Path:
    """A text file named .jpg."""
    path = tmp_path / "notes.jpg"
    path.write_text("these are my notes, not a photo\nsecond line\n")
    return path


def bad_random_png(tmp_path: Path) -> Path:
    """4 KiB of random bytes named .png."""
    path = tmp_path / "random.png"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


def bad_missing(tmp_path: Path) -> Path:
    """A path where no file exists."""
    return tmp_path / "does_not_exist.png"


def bad_directory(tmp_path: Path) -> Path:
    """A directory named like an image."""
    path = tmp_path / "folder.png"
    path.mkdir()
    return path


BAD_FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "empty": (bad_empty, "empty file"),
    "truncated_png": (bad_truncated_png, "truncated"),
    "truncated_jpeg": (bad_truncated_jpeg, "truncated"),
    "text_as_jpg": (bad_text_as_jpg, "holds text"),
    "random_png": (bad_random_png, "not a readable image"),
    "missing": (bad_missing, "not found"),
    "directory": (bad_directory, "a directory, not an image"),
}


def assert_one_line_error(err: ImageReadError, path: Path, reason: str) -> None:
    """The error is one line naming the file and giving a reason."""
    text = str(err)
    assert "\n" not in text and "\r" not in text
    assert str(path) in text
    assert reason in text
    assert err.path == str(path) and err.reason and reason in err.reason
    assert text == f"{path}: {err.reason}"


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_read_image_bad_file_raises_one_line_error(tmp_path: Path, kind: str) -> None:
    """Each kind of bad file raises ImageReadError (and nothing else) with a one-line 'path: reason'."""
    make, reason = BAD_FILES[kind]
    path = make(tmp_path)
    for channels in (1, 3):
        with pytest.raises(ImageReadError) as info:
            read_image(path, channels=channels)
        assert_one_line_error(info.value, path, reason)


@pytest.mark.parametrize("kind", ["empty", "text_as_jpg", "random_png", "missing", "directory"])
def test_probe_image_bad_header_raises_one_line_error(tmp_path: Path, kind: str) -> None:
    """probe_image refuses files whose header cannot be read, with the same one-line error."""
    make, reason = BAD_FILES[kind]
    path = make(tmp_path)
    with pytest.raises(ImageReadError) as info:
        probe_image(path)
    assert_one_line_error(info.value, path, reason)


def test_truncated_files_are_truncated_not_header_errors(tmp_path: Path) -> None:
    """A file cut in half still opens (its header is intact); decoding it is what fails."""
    for path in (bad_truncated_png(tmp_path), bad_truncated_jpeg(tmp_path)):
        assert (probe_image(path).width, probe_image(path).height) == (64, 64)
        with pytest.raises(ImageReadError, match="truncated or corrupt image data"):
            read_image(path)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC of type + data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_bomb_png(path: Path, side: int = 40000) -> Path:
    """A side×side 1-bit grayscale PNG of zeros, compressed row-block by row-block so memory stays small."""
    row = b"\x00" * (1 + side // 8)  # filter byte 0 + side/8 bytes of 1-bit pixels
    block = row * 1000
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(block) for _ in range(side // 1000)]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", b"".join(parts))
    path.write_bytes(png + png_chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def bomb_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40000×40000 PNG (1.6 G pixels) of a few hundred kilobytes."""
    return write_bomb_png(tmp_path_factory.mktemp("bomb") / "bomb.png")


def test_bomb_png_is_a_valid_header(bomb_png: Path) -> None:
    """The hand-written PNG is well formed: Pillow sees its size when the bomb check is off."""
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(bomb_png) as im:
            assert im.size == (40000, 40000) and im.mode == "1"
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    assert bomb_png.stat().st_size < 2_000_000


BOMB_REASON = "40000x40000 = 1600000000 pixels is over the limit of 89478485 pixels"


@pytest.mark.timeout(30)
def test_read_image_refuses_decompression_bomb(bomb_png: Path) -> None:
    """read_image refuses a 1.6 G pixel image up front (Pillow alone would refuse it without its size), naming the
    file, its size and the limit."""
    for channels in (1, 3):
        with pytest.raises(ImageTooLargeError) as info:
            read_image(bomb_png, channels=channels)
        assert_one_line_error(info.value, bomb_png, BOMB_REASON)
        assert (info.value.width, info.value.height, info.value.limit) == (40000, 40000, DEFAULT_MAX_PIXELS)


@pytest.mark.timeout(30)
def test_probe_image_refuses_decompression_bomb(bomb_png: Path) -> None:
    """probe_image refuses the bomb too, with the same one-line error."""
    with pytest.raises(ImageTooLargeError) as info:
        probe_image(bomb_png)
    assert_one_line_error(info.value, bomb_png, BOMB_REASON)


# --- to_channels ---------------------------------------------------------------------------------------------------


def test_to_channels_gray_to_rgb_replicates() -> None:
    """1 → 3 channels copies the gray channel into R, G and B."""
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4, 1)
    rgb = to_channels(gray, 3)
    assert rgb.shape == (3, 4, 3) and rgb.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(rgb[:, :, c], gray[:, :, 0])


def test_to_channels_rgb_to_gray_matches_read_image(tmp_path: Path) -> None:
    """3 → 1 channel uses the same luma as read_image(channels=1)."""
    rgb = np.asarray(noise_image((20, 10)))
    path = tmp_path / "noise.png"
    Image.fromarray(rgb).save(path)
    gray = to_channels(rgb, 1)
    assert gray.shape == (10, 20, 1) and gray.dtype == np.uint8
    np.testing.assert_array_equal(gray, read_image(path, channels=1))
    red = to_channels(np.array([[[255, 0, 0]]], dtype=np.uint8), 1)
    assert red[0, 0, 0] == pytest.approx(76, abs=1)


def test_to_channels_same_count_is_unchanged() -> None:
    """Asking for the channels an array already has returns it unchanged."""
    rgb = np.asarray(noise_image((5, 5)))
    np.testing.assert_array_equal(to_channels(rgb, 3), rgb)


# --- write_image ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_write_image_png_round_trips_exactly(tmp_path: Path, channels: int) -> None:
    """A PNG written by write_image reads back bit for bit, for 1 and 3 channels."""
    array = np.random.default_rng(channels).integers(0, 256, (17, 23, channels), dtype=np.uint8)
    path = tmp_path / "out.png"
    write_image(path, array)
    np.testing.assert_array_equal(read_image(path, channels=channels), array)
    with Image.open(path) as im:
        assert im.format == "PNG"
    assert sorted(os.listdir(tmp_path)) == ["out.png"]


def test_write_image_format_follows_extension(tmp_path: Path) -> None:
    """A .jpg path is written as JPEG (close to the input), with no temporary file left behind."""
    array = np.full((16, 16, 3), (200, 60, 20), dtype=np.uint8)
    path = tmp_path / "sub" / "out.jpg"
    write_image(path, array)
    assert path.read_bytes()[:2] == b"\xff\xd8"
    with Image.open(path) as im:
        assert im.format == "JPEG"
    assert np.abs(read_image(path).astype(int) - array).max() <= 4
    assert sorted(os.listdir(path.parent)) == ["out.jpg"]


def test_write_image_overwrites_existing_file(tmp_path: Path) -> None:
    """Writing twice to one path replaces the first image."""
    path = tmp_path / "out.png"
    write_image(path, np.zeros((4, 4, 1), dtype=np.uint8))
    write_image(path, np.full((4, 4, 1), 9, dtype=np.uint8))
    assert read_image(path, channels=1).max() == 9
    assert sorted(os.listdir(tmp_path)) == ["out.png"]


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((4, 4, 3), dtype=np.float32),
        np.zeros((4, 4, 3), dtype=np.uint16),
        np.zeros((4, 4), dtype=np.uint8),
        np.zeros((4, 4, 4), dtype=np.uint8),
        np.zeros((4, 4, 2), dtype=np.uint8),
        np.zeros((1, 4, 4, 3), dtype=np.uint8),
    ],
    ids=["float32", "uint16", "2d", "rgba", "two_channels", "batched"],
)
def test_write_image_rejects_bad_arrays(tmp_path: Path, array: np.ndarray) -> None:
    """Anything but a (H, W, 1|3) uint8 array is a ValueError, and no file is created."""
    with pytest.raises(ValueError, match=r"\(H, W, 1\|3\) uint8"):
        write_image(tmp_path / "out.png", array)
    assert os.listdir(tmp_path) == []


def test_write_image_failure_keeps_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If saving fails midway, the old file is untouched and the temporary file is removed."""
    path = tmp_path / "out.png"
    old = np.full((8, 8, 3), 77, dtype=np.uint8)
    write_image(path, old)
    old_bytes = path.read_bytes()

    def failing_save(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        fp.write(b"\x89PNG partial data")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        write_image(path, np.zeros((8, 8, 3), dtype=np.uint8))
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert sorted(os.listdir(tmp_path)) == ["out.png"]
    np.testing.assert_array_equal(read_image(path), old)


def test_probe_of_a_png_reads_no_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A header probe stays a header read for PNGs too (Pillow's getexif would decode the whole image)."""
    from PIL import ImageFile

    path = tmp_path / "plain.png"
    Image.new("RGB", (64, 32), (10, 20, 30)).save(path)
    loads = []
    original = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(1) or original(self))
    info = probe_image(path)
    assert (info.width, info.height) == (64, 32) and not loads


# --- the pixel limit -----------------------------------------------------------------------------------------------


@pytest.fixture
def limit_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """I2I_MAX_PIXELS unset for the test (set_max_pixels writes it) and restored afterwards."""
    monkeypatch.setenv(MAX_PIXELS_ENV, "")
    return monkeypatch


def test_default_limit_is_pillows_shipped_default(limit_env: pytest.MonkeyPatch) -> None:
    """The default is defined in i2i (Pillow's shipped value), not read from Pillow's mutable global."""
    assert max_pixels() == DEFAULT_MAX_PIXELS == 89478485 == 1024 * 1024 * 1024 // 4 // 3
    limit_env.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert max_pixels() == DEFAULT_MAX_PIXELS


def test_set_max_pixels_sets_the_environment_for_workers(limit_env: pytest.MonkeyPatch) -> None:
    """set_max_pixels writes I2I_MAX_PIXELS (spawned worker processes inherit it); None goes back to the default."""
    set_max_pixels(1234)
    assert max_pixels() == 1234 and os.environ[MAX_PIXELS_ENV] == "1234"
    set_max_pixels(None)
    assert max_pixels() == DEFAULT_MAX_PIXELS and MAX_PIXELS_ENV not in os.environ
    limit_env.setenv(MAX_PIXELS_ENV, " 777 ")
    assert max_pixels() == 777


@pytest.mark.parametrize("bad", [0, -5, 2.5, "100", True])
def test_set_max_pixels_refuses_what_is_not_a_positive_integer(limit_env: pytest.MonkeyPatch, bad: object) -> None:
    with pytest.raises(ConfigError, match="positive integer"):
        set_max_pixels(bad)  # type: ignore[arg-type]
    assert max_pixels() == DEFAULT_MAX_PIXELS


@pytest.mark.parametrize("bad", ["abc", "0", "-3", "1e8", "12.5"])
def test_bad_environment_value_is_a_one_line_error_naming_the_variable(
    limit_env: pytest.MonkeyPatch, tmp_path: Path, bad: str
) -> None:
    limit_env.setenv(MAX_PIXELS_ENV, bad)
    with pytest.raises(ConfigError) as info:
        max_pixels()
    text = str(info.value)
    assert text.startswith("I2I_MAX_PIXELS: expected a positive integer") and "\n" not in text
    path = save(tmp_path / "x.png", Image.new("RGB", (4, 4)))
    with pytest.raises(ConfigError, match="I2I_MAX_PIXELS"):  # not an ImageReadError: the setting is wrong
        read_image(path)


@pytest.mark.parametrize(
    ("argv", "rest", "limit"),
    [
        (["--max-pixels", "500", "data", "check", "x"], ["data", "check", "x"], 500),
        (["--max-pixels=1_000", "train"], ["train"], 1000),
        (["data", "check", "--max-pixels", "5"], ["data", "check", "--max-pixels", "5"], DEFAULT_MAX_PIXELS),
        ([], [], DEFAULT_MAX_PIXELS),
    ],
)
def test_take_max_pixels_option(limit_env: pytest.MonkeyPatch, argv: list[str], rest: list[str], limit: int) -> None:
    """A leading --max-pixels N (or =N) is applied and removed; anywhere else it is the command's business."""
    assert take_max_pixels_option(argv) == rest
    assert max_pixels() == limit


@pytest.mark.parametrize("argv", [["--max-pixels"], ["--max-pixels", "many"], ["--max-pixels=0", "train"]])
def test_take_max_pixels_option_refuses_bad_values(limit_env: pytest.MonkeyPatch, argv: list[str]) -> None:
    with pytest.raises(ConfigError, match=r"^--max-pixels: expected a positive integer"):
        take_max_pixels_option(argv)
    assert max_pixels() == DEFAULT_MAX_PIXELS


@pytest.mark.parametrize("how", ["function", "environment"])
def test_image_exactly_at_the_limit_reads_and_one_pixel_more_is_refused(
    limit_env: pytest.MonkeyPatch, tmp_path: Path, how: str
) -> None:
    """30×20 = 600 pixels: read with a limit of 600, refused (header only, same words) with 599."""
    path = save(tmp_path / "x.png", Image.new("RGB", (30, 20), (1, 2, 3)))

    def limit(n: int) -> None:
        set_max_pixels(n) if how == "function" else limit_env.setenv(MAX_PIXELS_ENV, str(n))

    limit(600)
    assert read_image(path).shape == (20, 30, 3) and probe_image(path).width == 30
    limit(599)
    for read in (read_image, probe_image):
        with pytest.raises(ImageTooLargeError) as info:
            read(path)
        reason = "30x20 = 600 pixels is over the limit of 599 pixels (raise it with --max-pixels or I2I_MAX_PIXELS)"
        assert_one_line_error(info.value, path, reason)
        assert info.value.reason == reason


def test_limit_is_checked_before_decoding(limit_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An image over the limit is refused from its header: no pixel is decoded."""
    from PIL import ImageFile

    path = save(tmp_path / "x.png", Image.new("RGB", (30, 20)))
    set_max_pixels(100)
    loads: list[int] = []
    original = ImageFile.ImageFile.load
    limit_env.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(1) or original(self))
    with pytest.raises(ImageTooLargeError):
        read_image(path)
    assert loads == []


@pytest.mark.timeout(30)
def test_huge_header_between_pillows_warning_and_error_is_refused_quietly(
    limit_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """10000×10000 (100 M pixels) is where Pillow only warns (DecompressionBombWarning) and then decodes: i2i refuses
    it from the header, fast, and no warning is raised at all."""
    path = write_huge_png(tmp_path / "huge.png")
    assert path.stat().st_size < 100_000
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for read in (read_image, probe_image):
            with pytest.raises(ImageTooLargeError) as info:
                read(path)
            assert_one_line_error(info.value, path, f"{HUGE_ERROR} 89478485 pixels")
    assert [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)] == []


def test_a_raised_limit_beats_pillows_own(limit_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Pillow's own check (warn above its global, refuse above twice that) never decides: with Pillow's global at 100
    pixels a 64×64 image still reads, without a warning, and Pillow's global is raised to i2i's limit for the
    decoders' own checks while loading."""
    path = save(tmp_path / "x.png", noise_image((64, 64)))
    limit_env.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    set_max_pixels(5000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_image(path).shape == (64, 64, 3) and probe_image(path).height == 64
    assert Image.MAX_IMAGE_PIXELS == 5000


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
@pytest.mark.timeout(30)
def test_fifo_named_like_an_image_is_refused_without_opening_it(tmp_path: Path) -> None:
    """A FIFO without a writer would block open() forever: read_image and probe_image refuse it from its stat."""
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    for read in (read_image, probe_image):
        error = run_with_timeout(lambda read=read: _error_of(read, fifo), seconds=10)
        assert_one_line_error(error, fifo, "not a regular file (FIFO)")


def _error_of(read: Callable[[Path], object], path: Path) -> ImageReadError:
    with pytest.raises(ImageReadError) as info:
        read(path)
    return info.value


def test_unsupported_format_says_so(tmp_path: Path) -> None:
    """A .heic (or .avif, ...) file that Pillow cannot read is named as an unsupported format, with the fix."""
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(200))
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert_one_line_error(info.value, path, "unsupported format .heic (convert it to PNG or JPEG)")
    assert is_unsupported_image_file(path) and not is_image_file(path)
    assert not is_unsupported_image_file(tmp_path / "x.png")


def test_file_kinds_and_reasons(tmp_path: Path) -> None:
    assert file_kind(os.stat(tmp_path).st_mode) == "a directory"
    assert not_a_file_reason(os.stat(tmp_path).st_mode) == "a directory, not an image"
    assert not_a_file_reason(os.stat(save(tmp_path / "x.png", Image.new("L", (2, 2)))).st_mode) is None
    assert not_a_file_reason(stat.S_IFIFO) == "not a regular file (FIFO)"
    assert not_a_file_reason(stat.S_IFSOCK) == "not a regular file (socket)"
    assert not_a_file_reason(stat.S_IFCHR) == "not a regular file (character device)"
    assert not_a_file_reason(stat.S_IFBLK) == "not a regular file (block device)"


def test_error_names_a_path_with_a_line_break_on_one_line(tmp_path: Path) -> None:
    """ImageReadError shows the path via show_path: a newline in a file name cannot split the message."""
    path = tmp_path / "two\nlines.png"
    path.write_text("not an image")
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert str(info.value) == f"{tmp_path}/two\\nlines.png: not a readable image (the file holds text, not image data)"
    assert info.value.path == str(path)  # the real path stays available


def test_decode_image_reads_bytes_like_read_image_reads_files(tmp_path: Path) -> None:
    """Uploads held in memory: same pixels and same one-line refusals as files, naming what the caller calls it."""
    rgba = Image.fromarray(np.random.default_rng(0).integers(0, 256, (20, 30, 4), dtype=np.uint8), "RGBA")
    path = save(tmp_path / "a.png", rgba)
    data = path.read_bytes()
    assert np.array_equal(decode_image(data, "upload", 3), read_image(path, 3))
    assert np.array_equal(decode_image(data, "upload", 1), read_image(path, 1))
    cases = {
        b"": "upload: empty",
        b"just some text, not pixels": "upload: not a readable image (the data is text, not an image)",
        data[: len(data) // 2]: "upload: truncated or corrupt image data",
    }
    for body, message in cases.items():
        with pytest.raises(ImageReadError) as info:
            decode_image(body, "upload")
        assert str(info.value).startswith(message) and "\n" not in str(info.value)
    with pytest.raises(ImageTooLargeError, match="600 pixels is over the limit of 599 pixels"):
        decode_image(data, "upload", limit=599)
    huge = write_huge_png(tmp_path / "huge.png").read_bytes()
    with pytest.raises(ImageTooLargeError):
        decode_image(huge, "bomb.png", limit=10_000_000)

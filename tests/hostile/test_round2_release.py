"""Issue 21, round 2, releases: a served release's examples must be its own files (no link out of the folder), and
int8 calibration never feeds the graph a huge image at full size."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest
from helpers import REPO
from PIL import Image

from i2i.artifact import quantize
from i2i.artifact.open import open_model
from i2i.artifact.release import write_release
from i2i.imageio import ImageReadError, read_image
from i2i.inference.preprocessing import Preprocessing
from i2i.portable.runtime import OnnxTranslator
from i2i.serve.catalog import _examples, load_catalog

MODELS = REPO / "models"
SKETCH2PHOTO, FACADES = MODELS / "sketch2photo", MODELS / "facades"

needs_bundled = pytest.mark.skipif(
    not (SKETCH2PHOTO / "config.json").is_file() or not (FACADES / "config.json").is_file(),
    reason=f"the bundled models are missing from {MODELS}",
)


def pngs(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(folder / name)
    return folder


def release_with_linked_examples(tmp_path: Path) -> Path:
    """A copy of the bundled sketch2photo release whose ``examples`` is a link to a folder of PNGs outside it."""
    release = tmp_path / "release"
    shutil.copytree(SKETCH2PHOTO, release)
    shutil.rmtree(release / "examples")
    (release / "examples").symlink_to(pngs(tmp_path / "private", ["secret.png", "holiday.png"]), True)
    return release


@needs_bundled
def test_an_examples_folder_that_links_outside_the_release_gives_no_examples(tmp_path: Path) -> None:
    release = release_with_linked_examples(tmp_path)
    assert _examples(release / "examples") == {}
    served = load_catalog([("s", release)], device="cpu", runtime="torch").models["s"]
    assert served.examples == {} and served.info()["examples"] == []


@needs_bundled
def test_an_examples_folder_that_links_inside_the_release_gives_none_either(tmp_path: Path) -> None:
    """Examples are the release's own regular files: a linked folder is refused wherever it leads."""
    release = tmp_path / "release"
    shutil.copytree(SKETCH2PHOTO, release)
    (release / "examples").rename(release / "samples")
    (release / "examples").symlink_to("samples", True)
    assert _examples(release / "examples") == {}


def test_example_files_that_are_links_or_no_files_are_left_out(tmp_path: Path) -> None:
    release = tmp_path / "release"
    folder = pngs(release / "examples", ["good.png"])
    outside = pngs(tmp_path / "private", ["secret.png"])
    (folder / "out.png").symlink_to(outside / "secret.png")
    (folder / "in.png").symlink_to("good.png")
    (folder / "dir.png").mkdir()
    (folder / "a.png").symlink_to("b.png")
    (folder / "b.png").symlink_to("a.png")
    assert list(_examples(folder)) == ["good.png"]


def test_an_example_swapped_for_a_link_after_start_is_not_followed(tmp_path: Path) -> None:
    folder = pngs(tmp_path / "release" / "examples", ["good.png"])
    outside = pngs(tmp_path / "private", ["secret.png", "other.png"])
    examples = _examples(folder)
    original = (folder / "good.png").read_bytes()
    (folder / "good.png").unlink()
    (folder / "good.png").symlink_to(outside / "other.png")  # the release changes while the server runs
    assert examples["good.png"].data == original != (outside / "other.png").read_bytes()


@needs_bundled
def test_a_server_serves_no_example_from_a_linked_folder(tmp_path: Path) -> None:
    from serve_helpers import start_server

    release = release_with_linked_examples(tmp_path)
    server = start_server([f"s={release}", "--device", "cpu", "--runtime", "torch"])
    try:
        info = httpx.get(f"{server.url}v1/models/s", timeout=30).json()
        assert info["examples"] == []
        answer = httpx.get(f"{server.url}v1/models/s/examples/secret.png", timeout=30)
        assert answer.status_code == 404 and b"\x89PNG" not in answer.content
    finally:
        server.stop()


# --- int8 calibration ------------------------------------------------------------------------------------------------


def test_calibration_sizes_follow_the_release_preprocessing() -> None:
    any_size = Preprocessing(3, 3, size_multiple=256)
    assert quantize.calibration_size(9000, 6000, any_size) == (1024, 683)
    assert quantize.calibration_size(300, 200, any_size) == (300, 200)  # small images keep their size
    assert quantize.calibration_size(9000, 6000, Preprocessing(3, 3, fixed_size=256)) == (256, 256)
    assert quantize.calibration_size(9000, 6000, Preprocessing(3, 3, infer_size=512)) == (768, 512)


def test_read_calibration_resizes_each_image_and_refuses_one_over_the_pixel_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 5000x5000 PNG (one colour: 100 kB on disk) comes back at the size the network is fed; a file over the pixel
    limit is refused from its header, in one line naming it."""
    big = tmp_path / "big.png"
    Image.new("RGB", (5000, 5000), (200, 120, 40)).save(big)
    small = pngs(tmp_path, ["small.png"]) / "small.png"
    pre = Preprocessing(3, 3, size_multiple=256)
    images = quantize.read_calibration([big, small], pre)
    assert [im.shape for im in images] == [(1024, 1024, 3), (16, 16, 3)]
    assert images[0].dtype == np.uint8 and tuple(images[0][500, 500]) == (200, 120, 40)
    monkeypatch.setenv("I2I_MAX_PIXELS", str(4000 * 4000))
    with pytest.raises(ImageReadError, match=r"big\.png: 5000x5000 = 25000000 pixels is over the limit") as caught:
        quantize.read_calibration([small, big], pre)
    assert "\n" not in str(caught.value)


@needs_bundled
def test_a_huge_calibration_image_is_fed_to_the_graph_at_network_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``quantize_generator`` (export's int8 step) is handed a 5000x1000 image among the calibration images: the
    graph must never be fed more than 1024 pixels a side (it used to get it at full size, as floats: gigabytes for a
    9000x9000 photo)."""
    fed: list[tuple[int, int]] = []
    network_input = OnnxTranslator.network_input

    def spy(self: OnnxTranslator, images: list[np.ndarray]) -> tuple[np.ndarray, tuple[int, int]]:
        fed.extend(im.shape[:2] for im in images)
        assert max(images[0].shape[:2]) <= 1024, f"fed at {images[0].shape[:2]}"  # fails before any float copy
        return network_input(self, images)

    monkeypatch.setattr(OnnxTranslator, "network_input", spy)
    examples = [read_image(p, 3) for p in sorted((FACADES / "examples").glob("*.png"))][:4]
    huge = np.zeros((1000, 5000, 3), np.uint8)
    huge[:, :, 2] = 170  # the facades label map's background colour
    images = [examples[0], huge, *examples[1:]]
    release = write_release(open_model(FACADES), tmp_path / "int8", onnx=True, quantize="int8", calibration=images)
    assert (release / "model.onnx").is_file()
    assert (205, 1024) in fed and max(max(shape) for shape in fed) <= 1024

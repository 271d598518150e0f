"""Fixtures of the serve tests: a real server on the bundled models plus a two-way model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import BUNDLED, Server, start_server


@pytest.fixture(scope="session")
def two_way_release(cyclegan_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny CycleGAN release (AtoB and BtoA) with one example input."""
    from i2i.artifact.open import open_model
    from i2i.artifact.release import write_release

    folder = tmp_path_factory.mktemp("served") / "twoway"
    write_release(open_model(cyclegan_run), folder)
    (folder / "examples").mkdir()
    source = next(iter(sorted((cyclegan_run.parent.parent / "data" / "testA").iterdir())))
    (folder / "examples" / "a.png").write_bytes(source.read_bytes())
    return folder


SERVER_OPTIONS = ["--max-upload-mb", "1", "--max-pixels", str(1024 * 1024), "--queue", "32", "--timeout", "30"]


@pytest.fixture(scope="session")
def server(two_way_release: Path) -> Iterator[Server]:
    """The bundled models (facades, shoes, sketch2photo, sketch-classifier) and ``twoway``, on the CPU, with a
    1 MB upload limit and a 1024x1024 pixel cap (so the limits are cheap to test)."""
    if not (BUNDLED / "facades" / "config.json").is_file():
        pytest.skip(f"the bundled models are missing from {BUNDLED}")
    srv = start_server([str(BUNDLED), f"twoway={two_way_release}", "--device", "cpu", *SERVER_OPTIONS])
    yield srv
    srv.stop()

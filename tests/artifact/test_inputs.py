"""A release's ``input`` section: what the page offers (a pen or a palette) and which models a sketch classifier
reads. Written by ``i2i export --input-kind/--palette``, kept by re-exports, checked like the rest of config.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from i2i.artifact.inputs import InputSpec, parse_palette, read_palette
from i2i.artifact.open import open_model
from i2i.artifact.release import read_release, write_release
from i2i.cli import main
from i2i.errors import CheckpointError, ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_the_facades_palette_file_reads_in_order() -> None:
    palette = read_palette(ROOT / "configs/palettes/facades.yaml")
    assert [c.name for c in palette][:3] == ["background", "facade", "window"] and len(palette) == 12
    assert palette[0].rgb == (0, 0, 222) and palette[0].hex == "#0000de"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": "#000000"}, "2 to 64 colours"),
        ({"a": "#000000", "b": "#000000"}, "repeated"),
        ([{"name": "a", "color": "#000000"}, {"name": "a", "color": "#ffffff"}], "repeated: a"),
        ({"a": "#00000", "b": "#ffffff"}, "'#rrggbb' or \\[r, g, b\\]"),
        ({"a": [0, 0, 256], "b": "#ffffff"}, "0..255"),
        ({"a\nb": "#000000", "b": "#ffffff"}, "printable"),
        ([{"name": "a"}, {"name": "b", "color": "#fff000"}], "exactly 'name' and 'color'"),
        ("#000000", "expected a list"),
    ],
)
def test_bad_palettes_are_refused_in_one_line(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_palette(value, "palette.yaml")
    assert "\n" not in str(info.value) and str(info.value).startswith("palette.yaml")


def test_input_kinds_and_palettes_go_together() -> None:
    palette = parse_palette({"a": "#000000", "b": [255, 255, 255]}, "p")
    with pytest.raises(ConfigError, match="needs its palette"):
        InputSpec("labels")
    with pytest.raises(ConfigError, match="not 'sketch'"):
        InputSpec("sketch", palette)
    with pytest.raises(ConfigError, match="input kind must be one of"):
        InputSpec("photo")
    assert InputSpec.from_dict(InputSpec("labels", palette).to_dict(), "x") == InputSpec("labels", palette)


def test_export_records_the_palette_and_a_re_export_keeps_it(tiny_run: Path, tmp_path: Path) -> None:
    assert main(["export", str(tiny_run), "--out", str(tmp_path / "plain")]) == 0
    assert "input" not in json.loads((tmp_path / "plain/config.json").read_text())  # image: the default, not written
    assert read_release(tmp_path / "plain").input == InputSpec()
    palette = ROOT / "configs/palettes/facades.yaml"
    assert main(["export", str(tiny_run), "--out", str(tmp_path / "labels"), "--palette", str(palette)]) == 0
    meta = json.loads((tmp_path / "labels/config.json").read_text())
    assert meta["input"]["kind"] == "labels" and meta["input"]["palette"][2] == {"name": "window", "color": "#0080ff"}
    assert meta["version"] == 1  # older readers ignore the section: no version bump
    assert main(["export", str(tmp_path / "labels"), "--out", str(tmp_path / "again")]) == 0
    assert read_release(tmp_path / "again").input == read_release(tmp_path / "labels").input
    assert main(["export", str(tmp_path / "labels"), "--out", str(tmp_path / "sk"), "--input-kind", "sketch"]) == 0
    assert read_release(tmp_path / "sk").input == InputSpec("sketch")


def test_export_refuses_a_palette_for_another_kind(tiny_run: Path, tmp_path: Path, capsys) -> None:
    palette = str(ROOT / "configs/palettes/facades.yaml")
    args = ["export", str(tiny_run), "--out", str(tmp_path / "r"), "--palette", palette, "--input-kind", "sketch"]
    assert main(args) != 0
    assert "--palette is for --input-kind labels" in capsys.readouterr().err
    assert main(["export", str(tiny_run), "--out", str(tmp_path / "r"), "--input-kind", "labels"]) != 0
    assert "needs its palette" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("sketch", "must be a mapping"),
        ({"kind": "labels"}, "needs its palette"),
        ({"kind": "image", "extra": 1}, "must be a mapping with 'kind'"),
        ({"kind": "labels", "palette": {"a": "#zzzzzz", "b": "#000000"}}, "input.palette: a: colour"),
    ],
)
def test_a_bad_input_section_is_refused_naming_the_file(tiny_run: Path, tmp_path: Path, section, message) -> None:
    release = write_release(open_model(tiny_run), tmp_path / "r")
    meta = json.loads((release / "config.json").read_text())
    meta["input"] = section
    (release / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=message) as info:
        read_release(release)
    assert str(info.value).startswith(str(release / "config.json"))


def test_the_bundled_models_declare_their_inputs() -> None:
    kinds = {name: read_release(ROOT / "models" / name).input for name in ("facades", "shoes", "sketch2photo")}
    assert kinds["facades"].kind == "labels" and kinds["facades"].palette == read_palette(
        ROOT / "configs/palettes/facades.yaml"
    )
    assert kinds["shoes"].kind == kinds["sketch2photo"].kind == "sketch"
    assert read_release(ROOT / "models/sketch-classifier").input.kind == "sketch"

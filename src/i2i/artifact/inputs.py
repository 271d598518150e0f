"""What a model's input looks like to a person: a photo-like image, a sketch (dark strokes on white), or a label map
painted in a fixed palette of named colours. Recorded in a release (``config.json``'s ``input`` section) so that a
page can offer the right tools (a pen, or the palette the model was trained on) and a sketch model can be paired
with a sketch classifier. Releases without the section read as ``image``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from i2i.errors import CheckpointError, ConfigError

INPUT_KINDS = ("image", "sketch", "labels")
MAX_PALETTE = 64
MAX_LABEL_NAME = 40
MAX_PALETTE_FILE_BYTES = 64 * 1024
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


@dataclass(frozen=True)
class PaletteColor:
    """One class of a label map: its name and its exact colour."""

    name: str
    rgb: tuple[int, int, int]

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)


@dataclass(frozen=True)
class InputSpec:
    """A model's input as a person makes it: ``kind`` is one of INPUT_KINDS; ``palette`` (label maps only) lists the
    colours the model was trained on, in order."""

    kind: str = "image"
    palette: tuple[PaletteColor, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in INPUT_KINDS:
            raise ConfigError(f"input kind must be one of {', '.join(INPUT_KINDS)}, got {self.kind!r}")
        if self.palette and self.kind != "labels":
            raise ConfigError(f"a palette is for label-map inputs (input kind 'labels'), not {self.kind!r}")
        if self.kind == "labels" and not self.palette:
            raise ConfigError("a label-map input (input kind 'labels') needs its palette, the colours it learnt")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        if self.palette:
            data["palette"] = [{"name": c.name, "color": c.hex} for c in self.palette]
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str) -> InputSpec:
        """The ``input`` section of a release config (None: the default); CheckpointError naming ``where``."""
        if data is None:
            return cls()
        if not isinstance(data, dict) or not set(data) <= {"kind", "palette"}:
            raise CheckpointError(f"{where}: the 'input' section must be a mapping with 'kind' (and 'palette')")
        try:
            palette = parse_palette(data["palette"], "input.palette") if "palette" in data else ()
            return cls(str(data.get("kind", "image")), palette)
        except ConfigError as exc:
            raise CheckpointError(f"{where}: {exc}") from None


def parse_palette(value: Any, source: str) -> tuple[PaletteColor, ...]:
    """A palette from plain data: a list of ``{name, color}`` entries or a ``{name: color}`` mapping, each colour
    ``#rrggbb`` or ``[r, g, b]``. Names and colours must be unique; ConfigError naming ``source`` otherwise."""
    if isinstance(value, dict):
        entries = [{"name": k, "color": v} for k, v in value.items()]
    elif isinstance(value, list):
        entries = value
    else:
        raise ConfigError(f"{source}: expected a list of {{name, color}} entries or a mapping of name to colour")
    if not 2 <= len(entries) <= MAX_PALETTE:
        raise ConfigError(f"{source}: a palette has 2 to {MAX_PALETTE} colours, got {len(entries)}")
    colors: list[PaletteColor] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != {"name", "color"}:
            raise ConfigError(f"{source}: entry {i + 1} must have exactly 'name' and 'color'")
        name = entry["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_LABEL_NAME or not name.isprintable():
            raise ConfigError(f"{source}: entry {i + 1}: name must be printable, 1 to {MAX_LABEL_NAME} characters")
        colors.append(PaletteColor(name.strip(), _rgb(entry["color"], f"{source}: {name.strip()}")))
    for what, values in (("name", [c.name for c in colors]), ("colour", [c.rgb for c in colors])):
        seen = {v for v in values if values.count(v) > 1}
        if seen:
            raise ConfigError(f"{source}: each {what} may appear once; repeated: {sorted(seen)[0]}")
    return tuple(colors)


def _rgb(value: Any, where: str) -> tuple[int, int, int]:
    if isinstance(value, str) and (match := _HEX.fullmatch(value.strip())):
        h = match.group(1)
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    if (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in value)
    ):
        return value[0], value[1], value[2]
    raise ConfigError(f"{where}: colour must be '#rrggbb' or [r, g, b] with 0..255, got {value!r}")


def read_palette(path: str | Path) -> tuple[PaletteColor, ...]:
    """A palette file: YAML or JSON holding what ``parse_palette`` takes. ConfigError naming the file."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_PALETTE_FILE_BYTES:
            raise ConfigError(f"{path}: too large for a palette file (at most {MAX_PALETTE_FILE_BYTES:,} bytes)")
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path}: not a readable palette file ({first})") from None
    return parse_palette(data, str(path))

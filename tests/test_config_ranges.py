"""Option ranges and recipe files: every number option has a range that its default and every recipe respect, a
value just outside it is a one-line error naming the dotted key before any network is built, and a recipe that is
not a small YAML text file (binary, oversized, an alias bomb, a malformed section) is a one-line error naming it."""

from __future__ import annotations

import dataclasses
import math
import time
import typing
from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import REPO

from i2i.cli import main
from i2i.config import (
    MAX_RECIPE_BYTES,
    MAX_YAML_DEPTH,
    Bounds,
    bounds_of,
    describe_options,
    from_dict,
    merge,
    parse_overrides,
    read_yaml,
)
from i2i.data.config import DataConfig
from i2i.errors import ConfigError
from i2i.methods.base import METHODS, MethodConfig
from i2i.models.base import DISCRIMINATORS, GENERATORS, DiscriminatorConfig, GeneratorConfig
from i2i.run_config import RunConfig, build_raw, load_config
from i2i.training.config import TrainConfig

RECIPES = sorted(p for p in (REPO / "configs").rglob("*.yaml") if "palettes" not in p.parts)  # palettes: not recipes

# Number options whose valid values are not a range; their __post_init__ checks them (and --help says which).
NOT_RANGES = {("DataConfig", "input_channels"), ("DataConfig", "output_channels")}


def config_classes() -> list[tuple[str, type, type | None]]:
    """(id, class, registry base or None) for the run config's sections and every registered variant."""
    out: list[tuple[str, type, type | None]] = [
        ("run", RunConfig, None),
        ("data", DataConfig, None),
        ("train", TrainConfig, None),
    ]
    for base, registry, kind in (
        (MethodConfig, METHODS, "method"),
        (GeneratorConfig, GENERATORS, "generator"),
        (DiscriminatorConfig, DISCRIMINATORS, "discriminator"),
    ):
        out += [(f"{kind}:{name}", registry.get(name), base) for name in registry.names()]
    return out


CLASSES = config_classes()


def default_of(cls: type, base: type | None) -> Any:
    if base is None:
        return from_dict(cls, {})
    name = next(n for n in base.registry.names() if base.registry.get(n) is cls)
    return from_dict(base, {"name": name}, "x")


def number_type(tp: Any) -> type | None:
    """int or float for a number field (also ``int | None``), else None."""
    args = [a for a in typing.get_args(tp) if a is not type(None)] if typing.get_args(tp) else [tp]
    return args[0] if len(args) == 1 and args[0] in (int, float) else None


def bounded_fields(cls: type) -> list[tuple[dataclasses.Field, type, Bounds]]:
    hints = typing.get_type_hints(cls)
    return [
        (f, number_type(hints[f.name]), bounds_of(f))
        for f in dataclasses.fields(cls)
        if f.init and bounds_of(f) is not None
    ]


def outside(bounds: Bounds, kind: type) -> list[Any]:
    """The values just outside each side of ``bounds`` for an option of type ``kind``."""
    values = []
    for limit, below in ((bounds.ge, True), (bounds.gt, True), (bounds.le, False), (bounds.lt, False)):
        if limit is None:
            continue
        exclusive = limit in (bounds.gt, bounds.lt) and limit not in (bounds.ge, bounds.le)
        if kind is int:
            values.append(int(limit) if exclusive else int(limit) + (-1 if below else 1))
        else:
            values.append(float(limit) if exclusive else math.nextafter(limit, -math.inf if below else math.inf))
    return values


def walk(cfg: Any, path: str = "") -> list[tuple[str, Any, Bounds]]:
    """(dotted key, value, bounds) of every bounded option of a config tree."""
    rows = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            rows += walk(value, f"{path}{f.name}.")
        elif bounds_of(f) is not None:
            rows.append((f"{path}{f.name}", value, bounds_of(f)))
    return rows


def in_range(value: Any, bounds: Bounds) -> bool:
    return value is None or bounds.problem(value) is None


# -- every option has a range, and the defaults and recipes lie in it ---------------------------------------------


def test_every_registry_is_covered() -> None:
    kinds = {cid.split(":")[0] for cid, _, _ in CLASSES}
    assert kinds == {"run", "data", "train", "method", "generator", "discriminator"}
    assert len(CLASSES) == 3 + len(METHODS.names()) + len(GENERATORS.names()) + len(DISCRIMINATORS.names())


@pytest.mark.parametrize(("cid", "cls", "base"), CLASSES, ids=[c[0] for c in CLASSES])
def test_every_number_option_has_a_range(cid: str, cls: type, base: type | None) -> None:
    hints = typing.get_type_hints(cls)
    unbounded = [
        f.name
        for f in dataclasses.fields(cls)
        if f.init
        and number_type(hints[f.name]) is not None
        and bounds_of(f) is None
        and (cls.__name__, f.name) not in NOT_RANGES
    ]
    assert not unbounded, f"{cid}: number options without opt(ge=/gt=/le=/lt=): {unbounded}"
    for f, kind, bounds in bounded_fields(cls):
        assert kind is not None, f"{cid}.{f.name}: a range on an option that is not a number"
        assert any(v is not None for v in (bounds.ge, bounds.gt)), f"{cid}.{f.name}: no lower bound"


@pytest.mark.parametrize(("cid", "cls", "base"), CLASSES, ids=[c[0] for c in CLASSES])
def test_every_default_is_in_range(cid: str, cls: type, base: type | None) -> None:
    cfg = default_of(cls, base)
    for f, _, bounds in bounded_fields(cls):
        assert in_range(getattr(cfg, f.name), bounds), f"{cid}.{f.name} default {getattr(cfg, f.name)} not {bounds}"


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: str(p.relative_to(REPO / "configs")))
def test_every_recipe_is_in_range(path: Path) -> None:
    cfg = load_config(path)
    rows = walk(cfg)
    assert rows and all(in_range(value, bounds) for _, value, bounds in rows)
    network = "method.generator.ngf" if hasattr(cfg.method, "generator") else "method.backbone.width"
    assert {"method.lr", "method.beta1", "train.batch_size", "data.crop_size", network} <= {key for key, _, _ in rows}


# -- a value just outside a range is a one-line error naming the dotted key, before any network exists ------------


def section_for(cls: type, base: type | None) -> tuple[str, dict[str, Any]]:
    """Where ``cls`` sits in a run config: the dotted prefix of its options and the raw dict that selects it there
    (a network goes into the first registered method that takes it)."""
    if base is None:
        return {RunConfig: "", DataConfig: "data.", TrainConfig: "train."}[cls], {}
    name = next(n for n in base.registry.names() if base.registry.get(n) is cls)
    if base is MethodConfig:
        return "method.", {"method": {"name": name}}
    key = "generator" if base is GeneratorConfig else "discriminator"
    for method in METHODS.names():
        raw = {"method": {"name": method, key: {"name": name}}}
        try:
            load_config(None, raw)
        except ConfigError:
            continue
        return f"method.{key}.", raw
    raise AssertionError(f"no registered method takes {key} {name}")


OUTSIDE = [
    pytest.param(cls, base, f.name, value, id=f"{cid}.{f.name}={value!r}")
    for cid, cls, base in CLASSES
    for f, kind, bounds in bounded_fields(cls)
    for value in outside(bounds, kind)
]


@pytest.fixture
def no_networks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every torch module built while the test runs."""
    built: list[str] = []
    original = torch.nn.Module.__init__

    def record(self: torch.nn.Module, *args: Any, **kwargs: Any) -> None:
        built.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "__init__", record)
    return built


@pytest.mark.parametrize(("cls", "base", "field", "value"), OUTSIDE)
def test_a_value_just_outside_the_range_is_refused(
    cls: type, base: type | None, field: str, value: Any, no_networks: list[str]
) -> None:
    prefix, raw = section_for(cls, base)
    no_networks.clear()
    key = f"{prefix}{field}"
    with pytest.raises(ConfigError) as err:
        load_config(None, merge(raw, parse_overrides([f"--{key}={value!r}"])))
    message = str(err.value)
    assert message.startswith(f"{key}: must be ") and "\n" not in message, message
    assert not no_networks


@pytest.mark.parametrize(("cls", "base", "field", "value"), OUTSIDE)
def test_configs_made_in_code_are_checked_too(cls: type, base: type | None, field: str, value: Any) -> None:
    """dataclasses.replace and direct construction check the same ranges (``check_bounds`` in __post_init__)."""
    with pytest.raises(ConfigError, match=rf"^{field}: must be "):
        dataclasses.replace(default_of(cls, base), **{field: value})


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("--method.beta1=2", "method.beta1: must be >= 0 and < 1, got 2"),
        ("--method.lr=-1", "method.lr: must be > 0 and <= 1, got -1"),
        ("--train.batch_size=0", "train.batch_size: must be >= 1 and <= 65536, got 0"),
        ("--data.crop_size=100000", "data.crop_size: must be >= 1 and <= 16384, got 100000"),
        ("--method.generator.ngf=100000000", "method.generator.ngf: must be >= 1 and <= 512, got 100000000"),
        ("--method.lr=.nan", "method.lr: expected a finite number, got nan"),
        ("--method.lr=1e400", "method.lr: expected a finite number, got inf"),
        ("--seed=-1", "seed: must be >= 0 and <= 2**64 - 1, got -1"),
    ],
)
def test_out_of_range_overrides_fail_when_the_config_is_built(
    override: str, message: str, no_networks: list[str]
) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict(RunConfig, build_raw(None, [override]))
    assert str(err.value) == message
    assert not no_networks


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        # The full U-GAT-IT generator's MLP grows with img_size² · ngf²; 4.3 G weights is the most it may hold.
        (
            {"name": "ugatit", "generator": {"name": "ugatit", "img_size": 1028}},
            r"^method\.generator\.img_size: a full generator",
        ),
        ({"name": "ugatit", "generator": {"name": "ugatit", "img_size": 1028, "light": True}}, None),
        (
            {"name": "ugatit", "generator": {"name": "ugatit", "img_size": 30}},
            r"^method\.generator\.img_size: must be a multiple of 4",
        ),
        # A U-GAT-IT discriminator doubles its width with each layer.
        (
            {"name": "ugatit", "discriminator": {"name": "ugatit", "n_layers": 11}},
            r"^method\.discriminator\.n_layers: 11 layers at",
        ),
        ({"name": "ugatit", "discriminator": {"name": "ugatit", "n_layers": 10}}, None),
        ({"name": "ugatit", "local_layers": 11}, r"^method\.local_layers: 11 layers at ndf 64 make a 32768-channel"),
        # Networks a method cannot train.
        ({"name": "ugatit", "generator": {"name": "unet_256"}}, r"^method\.generator\.name: U-GAT-IT trains"),
        ({"name": "ugatit", "discriminator": {"name": "patchgan"}}, r"^method\.discriminator\.name: U-GAT-IT"),
        ({"name": "pix2pix", "discriminator": {"name": "ugatit"}}, r"^method\.discriminator\.name: pix2pix needs"),
        ({"name": "cyclegan", "discriminator": {"name": "ugatit"}}, r"^method\.discriminator\.name: cyclegan"),
        ({"name": "cyclegan", "generator": {"name": "ugatit", "light": True}}, None),
        # Cross-field checks that stay in __post_init__.
        ({"name": "pix2pix", "generator": {"num_downs": 6, "dropout_blocks": 6}}, r"dropout_blocks: must be in"),
    ],
)
def test_cross_field_limits(raw: dict, message: str | None, no_networks: list[str]) -> None:
    crop = {"load_size": 1028, "crop_size": 1024}
    if message is None:
        assert load_config(None, {"method": raw, "data": crop}).method.name == raw["name"]
        return
    with pytest.raises(ConfigError, match=message) as err:
        load_config(None, {"method": raw, "data": crop})
    assert "\n" not in str(err.value)
    assert not no_networks


def test_patchgan_too_deep_for_the_crop_is_refused_before_building(no_networks: list[str]) -> None:
    """A PatchGAN whose stride-2 convs leave no logit map: refused by the method's build, before any network."""
    cfg = load_config(None, ["--method.discriminator.n_layers=7"])  # needs 3 · 2**7 = 384-pixel crops
    with pytest.raises(ConfigError, match=r"crop_size \(256\) is too small for a 7-layer patchgan .* 384 pixels"):
        cfg.method.build(cfg.data)
    assert not no_networks
    cfg = load_config(None, ["--method.name=cyclegan", "--method.discriminator.n_layers=7"])
    with pytest.raises(ConfigError, match="at least 384 pixels"):
        cfg.method.build(cfg.data)


@pytest.mark.parametrize("n_layers", [0, 1, 2, 3])
def test_patchgan_min_size_is_exact(n_layers: int) -> None:
    from i2i.models.discriminators import PatchGANConfig

    cfg = PatchGANConfig(n_layers=n_layers, ndf=2, norm="none")
    net = cfg.build(3)
    assert net(torch.zeros(1, 3, cfg.min_size, cfg.min_size)).shape[-1] >= 1
    if n_layers:
        with pytest.raises(RuntimeError):
            net(torch.zeros(1, 3, cfg.min_size - 1, cfg.min_size - 1))


# -- recipe files --------------------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def alias_bomb(levels: int = 12) -> str:
    """The YAML "billion laughs": each level lists the previous one 9 times, 9**12 strings once expanded."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\nmethod: {{lr: *l{levels - 1}}}\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a YAML text file (invalid UTF-8 at byte 0)"),
        ("data:\n  root: caf\xe9\n".encode("latin-1"), "not a YAML text file (invalid UTF-8 at byte 17)"),
        (b"data: {root: x}\n\x00\x00\x00", "not a YAML text file (unprintable character #x0000 at position 16)"),
        ("data: 5\n", "data: expected a mapping of options, got 5"),
        ("method: [1, 2]\n", "method: expected a mapping of options, got [1, 2]"),
        ("method:\n  generator: unet_128\n", "method.generator: expected a mapping of options, got 'unet_128'"),
        ("train: yes\n", "train: expected a mapping of options, got True"),
        (alias_bomb(), "more than 100000 values once its aliases are expanded"),
        ("data: &d {root: [*d]}\n", "line 1: an alias refers to a value that contains it"),
        ("data: {root: " + "[" * 100 + "]" * 100 + "}\n", f"nested more than {MAX_YAML_DEPTH} levels deep"),
        ("data: {root: " + "[" * 5000 + "]" * 5000 + "}\n", f"nested more than {MAX_YAML_DEPTH} levels deep"),
        ("name: 2026-02-30\n", "invalid YAML value (day is out of range for month)"),
        ("seed: " + "9" * 5000 + "\n", "invalid YAML value (Exceeds the limit (4300 digits)"),
        ("data: [unclosed\n", "line 2: invalid YAML (while parsing a flow sequence, expected ',' or ']'"),
        ("name: a\n---\nname: b\n", "line 2: invalid YAML (expected a single document in the stream, but found"),
        ("- data\n", "the top level must be a mapping of sections, got list"),
        ("{1: 2}\n", "option names are text, got 1"),
        ("data: {[a]: 2}\n", "invalid YAML (while constructing a mapping, found unhashable key)"),
        ("data: {2: 2}\n", "data: option names are text, got 2"),
    ],
    ids=[
        "png",
        "latin-1",
        "nul",
        "data-5",
        "method-list",
        "generator-str",
        "train-bool",
        "alias-bomb",
        "recursive-alias",
        "deep",
        "very-deep",
        "bad-date",
        "huge-int",
        "bad-yaml",
        "two-documents",
        "list",
        "int-key",
        "list-key",
        "int-key-in-section",
    ],
)
def test_bad_recipe_files_are_one_line_errors_naming_the_file(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = write(tmp_path, "recipe.yaml", content)
    for overrides in ([], ["--data.root=x", "--method.lr=0.001", "--method.generator.ngf=8", "--train.n_epochs=1"]):
        start = time.perf_counter()
        with pytest.raises(ConfigError) as err:
            load_config(path, overrides)
        assert time.perf_counter() - start < 5
        text = str(err.value)
        assert "\n" not in text and len(text) < 300, text
        assert message in text and text.startswith(f"{path}:"), text


def test_a_malformed_section_is_never_replaced_by_an_override(tmp_path: Path) -> None:
    """`data: 5` plus --data.root=x used to build a config from the override alone."""
    path = write(tmp_path, "r.yaml", "data: 5\n")
    with pytest.raises(ConfigError, match=rf"^{path}: data: expected a mapping of options, got 5$"):
        build_raw(path, ["--data.root=x"])
    # An empty section is fine: it means "the defaults".
    assert load_config(write(tmp_path, "e.yaml", "data:\nmethod: null\n"), ["--data.root=x"]).data.root == "x"


def test_merge_refuses_options_for_a_value_that_is_not_a_mapping() -> None:
    with pytest.raises(ConfigError, match=r"^data: 5 is not a mapping of options, cannot set data\.root$"):
        merge({"data": 5}, {"data": {"root": "x"}})
    with pytest.raises(ConfigError, match=r"^train\.batch_size: 1 is not a mapping"):
        merge({"train": {"batch_size": 1}}, {"train": {"batch_size": {"x": 1}}})
    assert merge({"data": None}, {"data": {"root": "x"}}) == {"data": {"root": "x"}}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data=5", "--data.root=x"], "option --data.root conflicts with --data=5"),
        (["--data.root=x", "--data=5"], "option --data=5 conflicts with the --data.* options before it"),
    ],
)
def test_an_option_and_its_sub_options_conflict(args: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{message}$"):
        parse_overrides(args)


def test_alias_bomb_on_the_command_line_is_refused() -> None:
    bomb = "{" + ", ".join(alias_bomb().splitlines()[:-1]) + "}"
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"^method\.lr: line 1: more than 100000 values"):
        load_config(None, [f"--method.lr={bomb}"])
    assert time.perf_counter() - start < 5


def test_anchors_and_aliases_in_a_recipe_still_work(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", "data: {root: x, load_size: &size 128, crop_size: *size}\nmethod: {lr: 1.0e-3}\n")
    cfg = load_config(path, ["--method.generator.name=unet_128"])
    assert (cfg.data.load_size, cfg.data.crop_size, cfg.method.lr) == (128, 128, 1e-3)


def test_a_utf8_recipe_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", "\ufeffname: café\n".encode())
    assert read_yaml(path) == {"name": "café"}


def test_recipe_size_cap(tmp_path: Path) -> None:
    path = write(tmp_path, "big.yaml", "name: x\n" + "# padding\n" * (MAX_RECIPE_BYTES // 10))
    with pytest.raises(ConfigError, match=r"big\.yaml: larger than 1 MiB, too large for a recipe$"):
        read_yaml(path)
    with pytest.raises(ConfigError, match=r"^/dev/zero: larger than 1 MiB"):  # a stream is not read to its end
        read_yaml("/dev/zero")


def test_long_values_are_cut_short_in_messages() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, ["--data.direction=" + "x" * 10000])
    assert len(str(err.value)) < 250 and "..." in str(err.value)


# -- the command line ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config", "{binary}"], "{binary}: not a YAML text file (invalid UTF-8 at byte 0)"),
        (["--config", "{section}", "--data.root=x"], "{section}: data: expected a mapping of options, got 5"),
        (["--method.beta1=2"], "method.beta1: must be >= 0 and < 1, got 2"),
        (["--train.batch_size=0"], "train.batch_size: must be >= 1 and <= 65536, got 0"),
    ],
)
def test_cli_config_mistakes_are_one_line_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    files = {
        "binary": str(write(tmp_path, "model.pt", b"\x80\x02}q\x00(X\x05\x00\x00\x00torch" + bytes(range(256)))),
        "section": str(write(tmp_path, "s.yaml", "data: 5\n")),
    }
    assert main(["train", *(a.format(**files) for a in args)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"i2i: error: {message.format(**files)}\n"
    assert "Traceback" not in captured.out + captured.err


def test_cli_help_shows_the_ranges(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    for shown in (
        "[float, 0 <= beta1 < 1] default: 0.5",
        "[float, 0 < lr <= 1] default: 0.0002",
        "[int, 1 <= batch_size <= 65536] default: 1",
        "[int | null, 1 <= infer_size <= 16384] default: null",
        "[int, n_epochs >= 0] default: 100",
        "[int, 0 <= seed <= 2**64 - 1] default: 0",
    ):
        assert shown in out
    bounded = [kind for _, kind, _, _ in describe_options(load_config(None)) if "<" in kind or ">" in kind]
    assert len(bounded) >= 15

"""Typed configuration: dataclass schemas in code, recipes in YAML, dotted overrides on the command line.

A config is a tree of dataclasses. ``load_config`` merges a YAML recipe with ``--section.key=value`` overrides into
one plain dict, then builds the dataclass tree from it, checking every key and value: an unknown key raises a
ConfigError that names the key and the closest valid one. A field typed with a :class:`Variant` subclass (a method, a
generator) picks its concrete dataclass from a registry by the ``name`` key, so each component keeps its own schema.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import yaml

from i2i.errors import ConfigError, did_you_mean
from i2i.registry import Registry

T = TypeVar("T")

# The largest image side any option may ask for (load, crop and inference sizes, fixed network input sizes): 16384²
# RGB is 0.8 GB as uint8 and 3.2 GB as float32 per image, before any network activation.
MAX_IMAGE_SIDE = 16384


@dataclass(frozen=True)
class Bounds:
    """The range a number option must lie in; ``None`` leaves that side open. Checked when a config is built."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def problem(self, value: float) -> str | None:
        """Why ``value`` is out of range, or None."""
        ok = (
            (self.ge is None or value >= self.ge)
            and (self.gt is None or value > self.gt)
            and (self.le is None or value <= self.le)
            and (self.lt is None or value < self.lt)
        )
        return None if ok else f"must be {self}, got {_number(value)}"

    def __str__(self) -> str:
        sides = [(">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt)]
        return " and ".join(f"{op} {_number(limit)}" for op, limit in sides if limit is not None)

    def interval(self, name: str) -> str:
        """The range as ``--help`` shows it: ``0 <= beta1 < 1``, ``n_epochs >= 0``."""
        low = [(op, limit) for op, limit in (("<=", self.ge), ("<", self.gt)) if limit is not None]
        high = [(op, limit) for op, limit in (("<=", self.le), ("<", self.lt)) if limit is not None]
        if low and not high:  # "n_epochs >= 0" reads better than "0 <= n_epochs"
            op, limit = low[0]
            return f"{name} {'>=' if op == '<=' else '>'} {_number(limit)}"
        left = "".join(f"{_number(limit)} {op} " for op, limit in low)
        right = "".join(f" {op} {_number(limit)}" for op, limit in high)
        return f"{left}{name}{right}"


def _number(value: float) -> str:
    """A number as a user would type it: 2 for 2.0, 0.0002 for 2e-4, 2**64 - 1 for 18446744073709551615."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, int):
        bits = (value + 1).bit_length() - 1
        return f"2**{bits} - 1" if bits >= 32 and value + 1 == 1 << bits else str(value)
    return repr(value)  # the shortest text that reads back as the same float


def opt(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    factory: Any = dataclasses.MISSING,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> Any:
    """A dataclass field with a help text shown by ``--help`` and, for numbers, the range its value must lie in
    (``ge`` >=, ``gt`` >, ``le`` <=, ``lt`` <), checked by ``from_dict`` and shown by ``--help``."""
    metadata: dict[str, Any] = {"help": help}
    if any(b is not None for b in (ge, gt, le, lt)):
        metadata["bounds"] = Bounds(ge, gt, le, lt)
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def bounds_of(f: dataclasses.Field) -> Bounds | None:
    return f.metadata.get("bounds")


def check_bounds(cfg: Any) -> None:
    """Checks every field of dataclass ``cfg`` against its ``opt`` range; call it first in ``__post_init__`` so that
    configs made in code (``dataclasses.replace``, direct construction) are checked as ``from_dict`` checks them.
    The message starts with the field name, as ``from_dict`` expects of ``__post_init__`` errors."""
    for f in dataclasses.fields(cfg):
        if bounds_of(f) is not None:
            _check_bounds(f, getattr(cfg, f.name), f.name)


@dataclass
class Variant:
    """Base of configs that are chosen by name from a registry (methods, generators, discriminators).

    Subclasses set ``registry`` on the family's base class and register each concrete config under its ``name``.
    """

    registry: ClassVar[Registry[type[Variant]]]
    default_name: ClassVar[str] = ""
    name: str = ""


# ----------------------------------------------------------------------------------------------------------------
# building dataclasses from plain data


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is Literal:
        return "|".join(str(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp)).replace("NoneType", "null")
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _show(value: Any, limit: int = 80) -> str:
    """``repr(value)`` for a one-line message, cut short when long (a value may be a whole pasted file)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _is_variant_base(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Variant) and "registry" in tp.__dict__


class CliValue(str):
    """A value typed on the command line: read as YAML, except where the field wants a string."""


def _from_cli(value: CliValue, tp: Any, path: str) -> Any:
    if tp is str or (typing.get_origin(tp) is Literal and all(isinstance(a, str) for a in typing.get_args(tp))):
        return str(value)
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and str in args:
        return None if value in ("null", "~", "None", "none") else str(value)
    try:
        return _parse_scalar(value)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _coerce(value: Any, tp: Any, path: str) -> Any:
    """Checks ``value`` against type ``tp`` and converts where it is lossless (int→float, list→tuple)."""
    if isinstance(value, CliValue):
        value = _from_cli(value, tp, path)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, path)
            except ConfigError:
                continue
        raise ConfigError(f"{path}: expected {_type_name(tp)}, got {_show(value)}")
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            hint = did_you_mean(str(value), [str(a) for a in args])
            raise ConfigError(f"{path}: {_show(value)} is not one of {choices}{hint}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {_show(value)}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{path}: expected {len(args)} values, got {len(value)}")
            return tuple(_coerce(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
        item = args[0] if args else Any
        items = [_coerce(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {_show(value)}")
        return dict(value)
    if _is_variant_base(tp) or (isinstance(tp, type) and dataclasses.is_dataclass(tp)):
        if dataclasses.is_dataclass(value) and isinstance(value, tp):
            return value
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping of options, got {_show(value)}")
        return from_dict(tp, value, path)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{path}: expected true or false, got {_show(value)}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{path}: expected an integer, got {_show(value)}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ConfigError(f"{path}: expected a finite number, got {_show(value)}")
            return float(value)
        raise ConfigError(f"{path}: expected a number, got {_show(value)}")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{path}: expected a string, got {_show(value)}")
    raise TypeError(f"unsupported config type {tp!r} at {path}")


def _resolve_class(cls: type, data: dict[str, Any], path: str) -> type:
    """For a Variant base, returns the registered subclass named by ``data['name']`` (or the base's default)."""
    if not _is_variant_base(cls):
        return cls
    name = data.get("name") or getattr(cls, "default_name", "")
    if not name:
        raise ConfigError(f"{path}.name: required; valid: {', '.join(cls.registry.names())}")
    try:
        return cls.registry.get(str(name))
    except ConfigError as exc:
        raise ConfigError(f"{path}.name: {exc}") from None


def from_dict(cls: type[T], data: dict[str, Any], path: str = "") -> T:
    """Builds dataclass ``cls`` from a plain mapping, rejecting unknown keys and ill-typed values."""
    cls = _resolve_class(cls, data, path or cls.__name__)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise ConfigError(_not_a_name(key, path))
        key_path = f"{path}.{key}" if path else key
        if key not in fields:
            raise ConfigError(f"unknown config key '{key_path}'{_suggest(key, path, fields)}")
        kwargs[key] = _coerce(_with_default_name(value, fields[key], hints[key]), hints[key], key_path)
        _check_bounds(fields[key], kwargs[key], key_path)
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        # __post_init__ messages start with the field name; prefix the section so the user sees the full key.
        raise ConfigError(f"{path}.{exc}" if path else str(exc)) from None


def _with_default_name(value: Any, f: dataclasses.Field, tp: Any) -> Any:
    """Options for a variant given without its ``name`` keep the variant of the field's default: a CycleGAN
    ``generator: {ngf: 32}`` is a 32-filter ResNet, not the generator family's default U-Net."""
    if not (isinstance(value, dict) and "name" not in value and _is_variant_base(tp)):
        return value
    if f.default is not dataclasses.MISSING:
        default = f.default
    elif f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
    else:
        return value
    return {"name": default.name, **value} if isinstance(default, Variant) and default.name else value


def _not_a_name(key: Any, path: str) -> str:
    return f"{path}: " * bool(path) + f"option names are text, got {_show(key)}"


def _check_bounds(f: dataclasses.Field, value: Any, path: str) -> None:
    bounds = bounds_of(f)
    if bounds is None or value is None:
        return
    for i, item in enumerate(value if isinstance(value, (list, tuple)) else [value]):
        if isinstance(item, (int, float)) and not isinstance(item, bool) and (problem := bounds.problem(item)):
            where = f"{path}[{i}]" if isinstance(value, (list, tuple)) else path
            raise ConfigError(f"{where}: {problem}")


def _suggest(key: str, path: str, fields: dict[str, Any]) -> str:
    hint = did_you_mean(key, fields)
    if hint:
        prefix = f"{path}." if path else ""
        return hint.replace("'", f"'{prefix}", 1)
    return f"; valid keys{' under ' + path if path else ''}: {', '.join(sorted(fields))}"


def to_dict(obj: Any) -> Any:
    """Plain-data form of a config tree (dicts, lists, scalars), suitable for YAML and JSON."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


# ----------------------------------------------------------------------------------------------------------------
# YAML files and command-line overrides


# A recipe is a few hundred lines: these limits only stop files that are not recipes (a binary, a log, a YAML
# "billion laughs" whose aliases expand to gigabytes of values) before they cost time or memory.
MAX_RECIPE_BYTES = 1 << 20
MAX_YAML_VALUES = 100_000  # values (scalars, lists, mappings) once every alias is expanded
MAX_YAML_DEPTH = 64


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Reads a YAML mapping; a missing, binary, oversized or malformed file is a one-line ConfigError."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_RECIPE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_RECIPE_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_RECIPE_BYTES >> 20} MiB, too large for a recipe")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a YAML text file (invalid UTF-8 at byte {exc.start})") from None
    try:
        data = load_yaml(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.reader.ReaderError as exc:  # a control character, e.g. the NUL bytes of a binary file
        raise ConfigError(
            f"{path}: not a YAML text file (unprintable character #x{exc.character:04x} at position {exc.position})"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
        problem = ", ".join(p for p in parts if p) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where} invalid YAML ({problem})") from None
    except (ValueError, OverflowError) as exc:  # a value YAML recognizes but cannot build, e.g. date 2026-02-30
        raise ConfigError(f"{path}: invalid YAML value ({str(exc).split(';')[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {type(data).__name__}")
    return data


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` of one document, refusing (ConfigError) documents nested deeper than MAX_YAML_DEPTH, with
    more than MAX_YAML_VALUES values once aliases are expanded, or with a recursive alias. PyYAML shares an aliased
    node instead of copying it, so loading an alias bomb is quick; every later walk over the result (validation,
    error messages, ``to_dict``) would expand it. The node graph is checked before any Python object is built."""
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise ConfigError(f"nested more than {MAX_YAML_DEPTH} levels deep") from None
        if node is None:
            return None
        _check_node(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_node(root: yaml.Node) -> None:
    """Counts the values of ``root`` with aliases expanded (each shared node counted once per use), without
    expanding them: a node's expanded size is computed once and reused."""
    sizes: dict[int, tuple[int, int]] = {}  # id(node) → (expanded values, height)
    open_nodes: set[int] = set()

    def children(node: yaml.Node) -> list[yaml.Node]:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if isinstance(node, yaml.MappingNode):
            return [n for pair in node.value for n in pair]
        return []

    def walk(node: yaml.Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in open_nodes:
            raise ConfigError(f"line {node.start_mark.line + 1}: an alias refers to a value that contains it")
        if key not in sizes:
            if depth > MAX_YAML_DEPTH:
                raise ConfigError(f"line {node.start_mark.line + 1}: nested more than {MAX_YAML_DEPTH} levels deep")
            open_nodes.add(key)
            count, height = 1, 0
            for child in children(node):
                child_count, child_height = walk(child, depth + 1)
                count, height = count + child_count, max(height, child_height + 1)
                if count > MAX_YAML_VALUES:
                    raise ConfigError(
                        f"line {node.start_mark.line + 1}: more than {MAX_YAML_VALUES} values once its aliases are "
                        "expanded (a YAML alias bomb?)"
                    )
            open_nodes.discard(key)
            sizes[key] = (count, height)
        count, height = sizes[key]
        if depth + height > MAX_YAML_DEPTH:
            raise ConfigError(f"line {node.start_mark.line + 1}: nested more than {MAX_YAML_DEPTH} levels deep")
        return count, height

    total, _ = walk(root, 0)
    if total > MAX_YAML_VALUES:
        raise ConfigError(f"more than {MAX_YAML_VALUES} values once its aliases are expanded (a YAML alias bomb?)")


def parse_overrides(args: Sequence[str]) -> dict[str, Any]:
    """Parses ``--a.b=value`` / ``--a.b value`` arguments into a nested dict; values are read as YAML scalars."""
    result: dict[str, Any] = {}
    i = 0
    args = list(args)
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) <= 2:
            raise ConfigError(f"unexpected argument '{arg}' (config options look like --section.key=value)")
        if "=" in arg:
            key, raw = arg[2:].split("=", 1)
        else:
            key = arg[2:]
            if i + 1 >= len(args):
                raise ConfigError(f"option --{key} needs a value")
            raw = args[i + 1]
            i += 1
        i += 1
        set_dotted(result, key.replace("-", "_"), CliValue(raw))
    return result


def _parse_scalar(raw: str) -> Any:
    """A command-line value read as YAML; text that is not valid YAML stays text. Raises ConfigError for a value
    over ``load_yaml``'s limits."""
    try:
        value = load_yaml(str(raw))
    except (yaml.YAMLError, ValueError, OverflowError):
        return raw
    # YAML reads '1e-4' as a string and '2026-01-01' as a date; keep only plain data.
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in "eE.") else value
        except ValueError:
            return value
    if isinstance(value, (bool, int, float, list, dict)) or value is None:
        return value
    return raw


def set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    """Sets ``target[a][b][c] = value`` for ``dotted`` 'a.b.c'; an option given a value and sub-options
    (``--data=x --data.root=y``) is a ConfigError."""
    parts = dotted.split(".")
    node = target
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            given = ".".join(parts[: i + 1])
            raise ConfigError(f"option --{dotted} conflicts with --{given}={child}")
        node = child
    if isinstance(node.get(parts[-1]), dict) and not isinstance(value, dict):
        raise ConfigError(f"option --{dotted}={value} conflicts with the --{dotted}.* options before it")
    node[parts[-1]] = value


def merge(base: dict[str, Any], update: dict[str, Any], path: str = "") -> dict[str, Any]:
    """Deep-merges ``update`` into a copy of ``base``; a changed variant ``name`` keeps the other given keys.

    Options given for a key whose base value is neither a mapping nor null (``data: 5`` in a recipe, then
    ``--data.root=x``) are a ConfigError: the malformed value is never silently replaced."""
    out = dict(base)
    for key, value in update.items():
        key_path = f"{path}.{key}" if path else str(key)
        current = out.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            out[key] = merge(current, value, key_path)
        elif isinstance(value, dict) and current is not None and not dataclasses.is_dataclass(current):
            sub = next(iter(value), "")
            raise ConfigError(f"{key_path}: {_show(current)} is not a mapping of options, cannot set {key_path}.{sub}")
        else:
            out[key] = value
    return out


def check_sections(cls: type, data: dict[str, Any], path: str = "") -> None:
    """Checks that every key of ``data`` that dataclass ``cls`` holds as a nested config (a section: data, method,
    method.generator, ...) is a mapping of options or null, before other mappings are merged into it. Other
    mistakes (unknown keys, ill-typed values) are left to ``from_dict``, which sees the merged result."""
    if _is_variant_base(cls):
        try:
            cls = _resolve_class(cls, data, path)
        except ConfigError:
            return  # an unknown name: from_dict says so, with the name the overrides may have changed
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    for key, value in data.items():
        if not isinstance(key, str):
            raise ConfigError(_not_a_name(key, path))
        tp = hints.get(key) if key in names else None
        if not (_is_variant_base(tp) or (isinstance(tp, type) and dataclasses.is_dataclass(tp))):
            continue
        key_path = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            check_sections(tp, value, key_path)
        elif value is not None and not dataclasses.is_dataclass(value):
            raise ConfigError(f"{key_path}: expected a mapping of options, got {_show(value)}")


def dump_yaml(data: dict[str, Any], path: str | Path) -> None:
    """Writes ``data`` as YAML, atomically (a run's config.yaml is never half written)."""
    from i2i.atomic import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False))


# ----------------------------------------------------------------------------------------------------------------
# help


def describe_options(cfg: Any, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """Rows of (option, type, current value, help) for every leaf field of a config tree."""
    rows: list[tuple[str, str, str, str]] = []
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        if not f.init:
            continue
        value = getattr(cfg, f.name)
        name = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            rows.extend(describe_options(value, name + "."))
            continue
        tp = hints[f.name]
        shown = yaml.safe_dump(to_dict(value), default_flow_style=True).removesuffix("\n").removesuffix("\n...")
        kind = _type_name(tp) + (f", {bounds.interval(f.name)}" if (bounds := bounds_of(f)) else "")
        rows.append((name, kind, shown.strip(), f.metadata.get("help", "")))
    return rows


def format_options(cfg: Any) -> str:
    rows = describe_options(cfg)
    width = max(len(r[0]) for r in rows) + 2
    lines = []
    for name, tp, value, help_text in rows:
        lines.append(f"  --{name:<{width}} {help_text}")
        lines.append(f"  {'':<{width + 2}} [{tp}] default: {value}")
    return "\n".join(lines)

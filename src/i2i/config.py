"""Typed configuration: dataclass schemas in code, recipes in YAML, dotted overrides on the command line.

A config is a tree of dataclasses. ``load_config`` merges a YAML recipe with ``--section.key=value`` overrides into
one plain dict, then builds the dataclass tree from it, checking every key and value: an unknown key raises a
ConfigError that names the key and the closest valid one. A field typed with a :class:`Variant` subclass (a method, a
generator) picks its concrete dataclass from a registry by the ``name`` key, so each component keeps its own schema.
"""

from __future__ import annotations

import dataclasses
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


def opt(default: Any = dataclasses.MISSING, help: str = "", *, factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with a help text shown by ``--help``."""
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata={"help": help})
    return field(default=default, metadata={"help": help})


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


def _is_variant_base(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Variant) and "registry" in tp.__dict__


class CliValue(str):
    """A value typed on the command line: read as YAML, except where the field wants a string."""


def _from_cli(value: CliValue, tp: Any) -> Any:
    if tp is str or (typing.get_origin(tp) is Literal and all(isinstance(a, str) for a in typing.get_args(tp))):
        return str(value)
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and str in args:
        return None if value in ("null", "~", "None", "none") else str(value)
    return _parse_scalar(value)


def _coerce(value: Any, tp: Any, path: str) -> Any:
    """Checks ``value`` against type ``tp`` and converts where it is lossless (int→float, list→tuple)."""
    if isinstance(value, CliValue):
        value = _from_cli(value, tp)
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
        raise ConfigError(f"{path}: expected {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            hint = did_you_mean(str(value), [str(a) for a in args])
            raise ConfigError(f"{path}: {value!r} is not one of {choices}{hint}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{path}: expected {len(args)} values, got {len(value)}")
            return tuple(_coerce(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
        item = args[0] if args else Any
        items = [_coerce(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        return dict(value)
    if _is_variant_base(tp) or (isinstance(tp, type) and dataclasses.is_dataclass(tp)):
        if dataclasses.is_dataclass(value) and isinstance(value, tp):
            return value
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping of options, got {value!r}")
        return from_dict(tp, value, path)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{path}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{path}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{path}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{path}: expected a string, got {value!r}")
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
        key_path = f"{path}.{key}" if path else key
        if key not in fields:
            raise ConfigError(f"unknown config key '{key_path}'{_suggest(key, path, fields)}")
        kwargs[key] = _coerce(value, hints[key], key_path)
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        # __post_init__ messages start with the field name; prefix the section so the user sees the full key.
        raise ConfigError(f"{path}.{exc}" if path else str(exc)) from None


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


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Reads a YAML mapping; a missing file or a syntax error is a one-line ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {type(data).__name__}")
    return data


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
    try:
        value = yaml.safe_load(str(raw))
    except yaml.YAMLError:
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
    parts = dotted.split(".")
    node = target
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Deep-merges ``update`` into a copy of ``base``; a changed variant ``name`` keeps the other given keys."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def dump_yaml(data: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


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
        rows.append((name, _type_name(tp), shown.strip(), f.metadata.get("help", "")))
    return rows


def format_options(cfg: Any) -> str:
    rows = describe_options(cfg)
    width = max(len(r[0]) for r in rows) + 2
    lines = []
    for name, tp, value, help_text in rows:
        lines.append(f"  --{name:<{width}} {help_text}")
        lines.append(f"  {'':<{width + 2}} [{tp}] default: {value}")
    return "\n".join(lines)

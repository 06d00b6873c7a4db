"""Sweep files: a small YAML or TOML document whose keys are :class:`SweepSpec`'s fields.

The format is chosen by the suffix (``.yaml``/``.yml``: PyYAML's safe loader; ``.toml``:
``tomllib``). Unknown keys are errors with the closest known key; every value is checked by
the spec itself, so a file and the Python API refuse the same things with the same names.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

import attrs
import yaml

from vpccni_model._errors import ConfigError
from vpccni_model.sweep._spec import SweepSpec, check_keys

SUFFIXES = (".yaml", ".yml", ".toml")

#: Keys a sweep file may hold: the spec's fields.
KEYS = tuple(field.name for field in attrs.fields(SweepSpec))


def _read(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("sweep file", str(path), f"cannot read it: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError("sweep file", str(path), "not a UTF-8 text file") from None
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("sweep file", str(path), f"not valid TOML: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot parse it"
        raise ConfigError("sweep file", str(path), f"not valid YAML{where}: {problem}") from None


def sweep_from_mapping(data: object) -> SweepSpec:
    """A :class:`SweepSpec` from a parsed sweep document (a mapping of its fields)."""
    if data is None:
        raise ConfigError("sweep file", None, "is empty: it needs at least 'instances'")
    if not isinstance(data, Mapping):
        raise ConfigError("sweep file", type(data).__name__, "must be a mapping of keys")
    check_keys("", data, KEYS)
    if "instances" not in data:
        raise ConfigError("instances", None, "missing: list the instance types, e.g. [m5.large]")
    return SweepSpec(**data)


def load_sweep(path: str | Path) -> SweepSpec:
    """Read a ``.yaml``, ``.yml`` or ``.toml`` sweep file (``docs/sweep.md``)."""
    file = Path(path)
    if file.suffix not in SUFFIXES:
        raise ConfigError("sweep file", str(path), f"must end in {', '.join(SUFFIXES)}")
    return sweep_from_mapping(_read(file))

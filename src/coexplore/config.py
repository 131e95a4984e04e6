"""Configuration loading and validation (JSON schema with defaults plus the
checks a schema cannot express)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import yaml
from pyproj import CRS as ProjCRS
from pyproj.exceptions import CRSError

from .errors import ConfigError


def _extend_with_default(validator_class: type) -> type:
    # jsonschema's documented recipe: fill "default" values while validating.
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub:
                    instance.setdefault(prop, copy.deepcopy(sub["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_DefaultValidator = _extend_with_default(jsonschema.Draft202012Validator)


def _with_area_defaults(config: dict, schema: dict) -> None:
    # additionalProperties sub-schemas (one per area) get their defaults too
    area_schema = {**schema["$defs"]["area"], "$defs": schema["$defs"]}
    for area in config.get("areas", {}).values():
        if isinstance(area, dict):
            for err in _DefaultValidator(area_schema).iter_errors(area):
                del err  # errors are reported by the full validation below


def validate_config(config: dict[str, Any], schema_path: str | Path) -> dict[str, Any]:
    """Validate ``config`` against the JSON schema, fill defaults, check semantics.

    Parameters
    ----------
    config
        The parsed configuration; it is modified in place (defaults filled).
    schema_path
        ``workflow/schemas/config.schema.yaml``.

    Returns
    -------
    dict
        The same ``config``.

    Raises
    ------
    ConfigError
        Naming the offending key and value and the fix.
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    _with_area_defaults(config, schema)
    errors = sorted(_DefaultValidator(schema).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        lines = []
        for e in errors[:10]:
            where = "/".join(str(p) for p in e.absolute_path) or "<top level>"
            lines.append(f"  config key '{where}': {e.message}")
        raise ConfigError(
            "invalid configuration:\n"
            + "\n".join(lines)
            + f"\nsee config/README.md for every key; the schema is {schema_path}"
        )
    for area_id, area in config["areas"].items():
        _check_area(area_id, area)
    return config


def _check_area(area_id: str, area: dict) -> None:
    try:
        crs = ProjCRS.from_user_input(area["grid"]["crs"])
    except CRSError as exc:
        raise ConfigError(
            f"areas/{area_id}/grid/crs {area['grid']['crs']!r} is not a CRS ({exc}); use e.g. 'EPSG:32650'"
        ) from exc
    if not crs.is_projected:
        raise ConfigError(
            f"areas/{area_id}/grid/crs {area['grid']['crs']!r} is geographic; the grid needs metres: use a UTM zone"
        )
    left, bottom, right, top = area["grid"]["extent"]
    if not (right > left and top > bottom):
        raise ConfigError(
            f"areas/{area_id}/grid/extent {area['grid']['extent']} is empty; give [left, bottom, right, top]"
        )
    start, end = pd.Timestamp(area["time"]["start"]), pd.Timestamp(area["time"]["end"])
    if not end > start:
        raise ConfigError(
            f"areas/{area_id}/time: end {end.date()} must be after start {start.date()}"
        )
    try:
        pd.date_range(start, end, freq=area["time"]["freq"])
    except ValueError as exc:
        raise ConfigError(
            f"areas/{area_id}/time/freq {area['time']['freq']!r} is not a pandas frequency; use e.g. 'MS'"
        ) from exc
    if area.get("raw_dir") is not None and not Path(area["raw_dir"]).is_dir():
        raise ConfigError(
            f"areas/{area_id}/raw_dir {area['raw_dir']!r} is not a folder; create it with the layout "
            "of README 'Your own data', or set raw_dir: null for the embedded study area"
        )


def load_config(path: str | Path, schema_path: str | Path) -> dict[str, Any]:
    """Read a YAML config file and validate it (see :func:`validate_config`)."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc}); fix the YAML syntax") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the config must be a mapping with an 'areas' key")
    return validate_config(config, schema_path)


def time_index(area: dict) -> pd.DatetimeIndex:
    """The regular time axis of an area's cubes."""
    t = area["time"]
    return pd.date_range(t["start"], t["end"], freq=t.get("freq", "MS"))


def area_years(area: dict) -> list[int]:
    """Calendar years of the study period."""
    t = area["time"]
    return list(range(pd.Timestamp(t["start"]).year, pd.Timestamp(t["end"]).year + 1))

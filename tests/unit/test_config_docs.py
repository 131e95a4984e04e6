"""config/README.md documents every key of the schema."""

import yaml

from ..conftest import ROOT


def _leaf_keys(node: dict, prefix: str = "") -> list[str]:
    keys = []
    for k, v in node.get("properties", {}).items():
        path = f"{prefix}.{k}" if prefix else k
        if v.get("type") == "object" and v.get("properties"):
            keys += _leaf_keys(v, path)
        else:
            keys.append(path)
    return keys


def test_every_schema_key_is_documented(schema_path):
    schema = yaml.safe_load(schema_path.read_text())
    doc = (ROOT / "config" / "README.md").read_text()
    missing = []
    for section in (
        "ingest",
        "cube",
        "fusion",
        "features",
        "classical",
        "learn",
        "robustness",
        "products",
        "report",
    ):
        for key in _leaf_keys(schema["properties"][section]):
            if f"`{key}`" not in doc:
                missing.append(f"{section}.{key}")
    area = {**schema["$defs"]["area"], "$defs": schema["$defs"]}
    for key in _leaf_keys(area):
        if key.startswith("synth."):
            key = key.removeprefix("synth.")
        if f"`{key}`" not in doc:
            missing.append(f"areas.<id>.{key}")
    assert not missing, f"undocumented config keys: {missing}"

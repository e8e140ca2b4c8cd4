"""Ready-made lab layouts, as lab.yaml files."""

from __future__ import annotations

from importlib import resources

from kanri.lab.config import LabConfig


def load(name: str = "demo") -> LabConfig:
    text = resources.files(__package__).joinpath(f"{name}.yaml").read_text()
    import yaml

    return LabConfig.from_dict(yaml.safe_load(text), where=f"layout {name}")

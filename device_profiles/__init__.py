"""Device profiles shipped as package data: one YAML file per class of device."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def profiles_dir() -> Path:
    """Folder holding the shipped ``*.yaml`` profiles (inside the installed package)."""
    return Path(str(resources.files(__name__)))

"""The OpenAPI document of the dashboard's REST API: ``openapi.yaml`` beside this file
is the data; this loads it and fills in the version."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import yaml

SPEC_FILE = Path(__file__).parent / "openapi.yaml"


@functools.cache
def _loaded() -> dict:
    return yaml.safe_load(SPEC_FILE.read_text())


def document(version: str) -> dict:
    doc = copy.deepcopy(_loaded())
    doc["info"]["version"] = version
    return doc

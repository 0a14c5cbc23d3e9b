"""Shared test helpers (paths and sample events)."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"


def sample(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())

"""Serving sample_graphs.py: a temporary langgraph.json for it, and the tables its `steps` graph writes to."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import psycopg

from tests.server.runs.sample_graphs import SIDE_EFFECT_TABLES

SAMPLES = Path(__file__).with_name("sample_graphs.py")
CONFIG = {
    "graphs": {
        "support": "graphs.support:build",  # keel's own, next to graphs that are not part of keel
        "echo": "./sample_graphs.py:echo",
        "steps": "./sample_graphs.py:steps",
        "ask": "./sample_graphs.py:compiled_ask",
        "stuck": "./sample_graphs.py:stuck",
        "hog": "./sample_graphs.py:hog",
        "fail": "./sample_graphs.py:fail",
        "grow": "./sample_graphs.py:grow",
    }
}


def create_side_effect_tables(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SIDE_EFFECT_TABLES.encode())


def write_config(folder: Path) -> Path:
    shutil.copy(SAMPLES, folder / "sample_graphs.py")
    path = folder / "langgraph.json"
    path.write_text(json.dumps(CONFIG))
    return path


def human(text: str) -> dict[str, Any]:
    """A graph input holding one human message, as the SDK sends it."""
    return {"messages": [{"role": "human", "content": text}]}


def values_of(state: Any) -> dict[str, Any]:
    """A thread state's values (the SDK types them as a dict or a list)."""
    values = state["values"]
    assert isinstance(values, dict)
    return values

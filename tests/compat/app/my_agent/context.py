"""The runtime context the agent and echo graphs declare (`context_schema`), with defaults for every field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Context:
    user_name: str = "friend"
    greeting: str = "Hello"

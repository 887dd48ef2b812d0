"""The app's own HTTP routes (`http.app` in langgraph.json), served beside the LangGraph API."""

from __future__ import annotations

import os

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello/{name}")
def hello(name: str) -> dict[str, str]:
    """Greet someone."""
    return {"greeting": os.environ.get("MY_AGENT_GREETING", "Hello"), "hello": name}

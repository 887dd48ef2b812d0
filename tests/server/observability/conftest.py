"""keel processes (API and workers) serving keel's support graph and the run-test sample graphs, traced to a
local OTLP receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.observability.receiver import Receiver, serve_receiver
from tests.server.runs.cluster import Cluster


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


def langfuse_env(receiver: Receiver) -> dict[str, str]:
    """Tracing on, exporting to the local receiver, flushing at once."""
    return {
        "LANGFUSE_PUBLIC_KEY": "pk-lf-test",
        "LANGFUSE_SECRET_KEY": "sk-lf-test",
        "LANGFUSE_BASE_URL": receiver.base_url,
        "KEEL_LANGFUSE_UI_URL": "http://langfuse.example",
        "LANGFUSE_FLUSH_INTERVAL": "0.1",
        "LANGFUSE_FLUSH_AT": "1",
    }


@pytest.fixture
def traced_cluster(tmp_path: Path, database_url: str, receiver: Receiver) -> Iterator[Cluster]:
    nodes = Cluster(tmp_path, database_url, env=langfuse_env(receiver))
    yield nodes
    nodes.stop_all()


@pytest.fixture
def untraced_cluster(tmp_path: Path, database_url: str) -> Iterator[Cluster]:
    nodes = Cluster(tmp_path, database_url)
    yield nodes
    nodes.stop_all()

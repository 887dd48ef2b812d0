"""keel processes (API and workers) serving keel's support graph and the run-test sample graphs, traced to a
local OTLP receiver."""

from __future__ import annotations

import json
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.process import KeelProcess
from tests.server.observability.receiver import Receiver, serve_receiver
from tests.server.runs.sample_graphs import SIDE_EFFECT_TABLES

SAMPLES = Path(__file__).parent.parent / "runs" / "sample_graphs.py"

CONFIG = {
    "graphs": {
        "support": "graphs.support:build",
        "echo": "./sample_graphs.py:echo",
        "steps": "./sample_graphs.py:steps",
        "ask": "./sample_graphs.py:compiled_ask",
    }
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


class Cluster:
    def __init__(self, folder: Path, url: str, receiver: Receiver | None) -> None:
        self.folder = folder
        self.url = url
        self.receiver = receiver
        shutil.copy(SAMPLES, folder / "sample_graphs.py")
        self.config = folder / "langgraph.json"
        self.config.write_text(json.dumps(CONFIG))
        self.procs: list[KeelProcess] = []
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SIDE_EFFECT_TABLES.encode())

    def env(self, **extra: str) -> dict[str, str]:
        env = {"DATABASE_URL": self.url, "KEEL_CONFIG": str(self.config), "KEEL_RUN_POLL": "0.2", **extra}
        if self.receiver is not None:
            env |= {
                "LANGFUSE_PUBLIC_KEY": "pk-lf-test",
                "LANGFUSE_SECRET_KEY": "sk-lf-test",
                "LANGFUSE_BASE_URL": self.receiver.base_url,
                "KEEL_LANGFUSE_UI_URL": "http://langfuse.example",
                "LANGFUSE_FLUSH_INTERVAL": "0.1",
                "LANGFUSE_FLUSH_AT": "1",
            }
        return env

    def serve(self, name: str, *args: str, **extra: str) -> KeelProcess:
        proc = KeelProcess(["serve", *args], env=self.env(**extra), cwd=self.folder, log=self.folder / f"{name}.log")
        self.procs.append(proc)
        proc.wait_ready()
        return proc

    def worker(self, name: str, **extra: str) -> KeelProcess:
        proc = KeelProcess(
            ["worker", "--size", "2"], env=self.env(**extra), cwd=self.folder, log=self.folder / f"{name}.log"
        )
        self.procs.append(proc)
        proc.wait_for_output("keel worker: running")
        return proc

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql.encode(), params).fetchall()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.proc.poll() is None:
                proc.stop(signal.SIGTERM)


@pytest.fixture
def traced_cluster(tmp_path: Path, database_url: str, receiver: Receiver) -> Iterator[Cluster]:
    nodes = Cluster(tmp_path, database_url, receiver)
    yield nodes
    nodes.stop_all()


@pytest.fixture
def untraced_cluster(tmp_path: Path, database_url: str) -> Iterator[Cluster]:
    nodes = Cluster(tmp_path, database_url, None)
    yield nodes
    nodes.stop_all()

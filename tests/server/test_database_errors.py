"""Which database errors a request answers 503 with Retry-After (worth retrying) and which stay a 500."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg import errors
from psycopg_pool import PoolTimeout

from server.errors import register_error_handlers
from tests.loopback import serve_in_thread

RAISED: dict[str, Exception] = {
    "lost": psycopg.OperationalError("server closed the connection unexpectedly"),
    "pool": PoolTimeout("database unreachable: connection refused"),
    "shutdown": errors.AdminShutdown("terminating connection due to administrator command"),
    "deadlock": errors.DeadlockDetected("deadlock detected"),
    "limit": errors.ProgramLimitExceeded("index row size exceeds maximum"),
}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    app = FastAPI()
    register_error_handlers(app)

    @app.get("/raise/{name}")
    async def raise_it(name: str) -> None:
        raise RAISED[name]

    with serve_in_thread(app, name="errors") as port:
        yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("name", ["lost", "pool", "shutdown", "deadlock"])
def test_a_database_that_may_answer_shortly_is_a_503_with_retry_after(base_url: str, name: str):
    answer = httpx.get(f"{base_url}/raise/{name}")
    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) > 0
    assert answer.json()["detail"].startswith("database unavailable")


def test_other_operational_errors_stay_internal_errors(base_url: str):
    answer = httpx.get(f"{base_url}/raise/limit")
    assert answer.status_code == 500
    assert "Retry-After" not in answer.headers
    assert answer.json() == {"detail": "internal error; the server log has the details"}

"""PgBouncer (the Debian package `pgbouncer`) in transaction mode in front of a test or bench PostgreSQL.

`transaction_pooler(admin_url)` starts one on a free loopback port, forwarding every database name to the server
of `admin_url` (TCP or its Unix socket), and yields a function that turns a direct URL into the same URL through
the pooler. Run as root, PgBouncer refuses to start unless told whom to run as: the owner of the server's socket
folder, which can reach the socket.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from tests.process import end_process, free_port
from tests.waiting import wait_until

POOL_SIZE = 40  # server connections per (database, user): enough for 4 keel processes without queueing long


def pgbouncer_path() -> str | None:
    return shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(path, os.X_OK)), None
    )


def _through(url: str, port: int) -> str:
    """`url` with the pooler's address: same user, password and database name, TCP on loopback."""
    parts = urlsplit(url)
    user = parts.username or "postgres"
    auth = f"{user}:{parts.password}@" if parts.password else f"{user}@"
    return urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{port}", query=""))


@contextmanager
def transaction_pooler(admin_url: str, *, pool_size: int = POOL_SIZE) -> Iterator[Callable[[str], str]]:
    binary = pgbouncer_path()
    if binary is None:
        raise FileNotFoundError("pgbouncer is not installed (Debian package `pgbouncer`)")
    target = conninfo_to_dict(admin_url)
    host, server_port = str(target.get("host") or "127.0.0.1"), str(target.get("port") or 5432)
    user = str(target.get("user") or "postgres")
    folder = Path(tempfile.mkdtemp(prefix="keel-pgbouncer-"))
    port = free_port()
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    # Transaction pooling: a server connection serves one transaction (or one autocommit statement) of a client,
    # then the next client's. No prepared statements (1.21+ could track them; Debian 12 ships 1.18).
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
max_db_connections = {pool_size * 2}
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
"""
    )
    run_as: list[str] = []
    if os.geteuid() == 0:  # PgBouncer will not run as root
        owner = Path(host).stat().st_uid if host.startswith("/") else pwd.getpwnam("nobody").pw_uid
        name = pwd.getpwuid(owner).pw_name
        os.chmod(folder, 0o755)
        for path in folder.iterdir():
            os.chmod(path, 0o644)
        run_as = ["-u", name]
    log = (folder / "pgbouncer.log").open("ab")
    proc = subprocess.Popen([binary, *run_as, str(folder / "pgbouncer.ini")], stdout=log, stderr=subprocess.STDOUT)
    try:

        def answers() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"pgbouncer exited: {(folder / 'pgbouncer.log').read_text()}")
            try:
                with psycopg.connect(_through(admin_url, port), connect_timeout=2, prepare_threshold=None) as conn:
                    conn.execute("SELECT 1")
                return True
            except psycopg.OperationalError:
                return False

        wait_until(answers, timeout=30, what="pgbouncer to answer", interval=0.1)
        yield lambda url: _through(url, port)
    finally:
        end_process(proc, timeout=10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)

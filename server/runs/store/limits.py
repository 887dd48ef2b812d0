"""keel.run_rate: runs each identity created in the current minute (a fixed one-minute window per identity)."""

from __future__ import annotations

import math

from server.db.pool import Connection

WINDOW_S = 60


async def count_created(conn: Connection, identity: str, *, per_minute: int) -> int | None:
    """Count one more run for `identity` in this minute, unless it has made `per_minute` already (0: no limit).
    Returns None when counted, else the whole seconds (at least 1) until its minute ends.

    Call first in the transaction that inserts the run: the identity's row stays locked until it commits, so its
    creates in every process wait for each other here, and a failed create takes its count back. A transaction
    that started in an earlier minute than the row's counts into the row's (later) minute."""
    row = await (
        await conn.execute(
            """INSERT INTO keel.run_rate AS r (identity, window_start, created)
               VALUES (%(identity)s, date_trunc('minute', now()), 1)
               ON CONFLICT (identity) DO UPDATE
                   SET created = CASE WHEN r.window_start >= excluded.window_start THEN r.created + 1 ELSE 1 END,
                       window_start = greatest(r.window_start, excluded.window_start)
                   WHERE r.window_start < excluded.window_start OR r.created < %(limit)s OR %(limit)s = 0
               RETURNING created""",
            {"identity": identity, "limit": per_minute},
        )
    ).fetchone()
    if row is not None:
        return None
    # Refused (the row exists: the conflict locked it for this transaction all the same).
    ends = await (
        await conn.execute(
            """SELECT extract(epoch FROM window_start + make_interval(secs => %s) - clock_timestamp())::float8 AS s
               FROM keel.run_rate WHERE identity = %s""",
            (WINDOW_S, identity),
        )
    ).fetchone()
    return max(1, math.ceil(ends["s"])) if ends is not None else 1

-- Run limits per identity (issue 14), shared by every keel process on this database.
-- run_rate: runs an identity created in the current minute (one row per identity; a new minute starts the count
-- again). Creating a run upserts the row first, in the transaction that inserts the run: the row lock orders one
-- identity's creates across processes, and a refused or failed create rolls its count back.
CREATE TABLE keel.run_rate (
    identity     text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    created      integer NOT NULL
);
-- An identity's active runs, by the creator a run carries in its config (as LangGraph Server puts it there; no
-- creator: the anonymous identity '').
CREATE INDEX runs_active_creator_idx ON keel.runs
    ((coalesce(kwargs #>> '{config,configurable,langgraph_auth_user_id}', '')))
    WHERE status IN ('pending', 'running');

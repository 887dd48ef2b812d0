-- A thread's time-to-live, as LangGraph Server's thread `ttl` ({"strategy", "ttl": minutes}): set on create or
-- update, shown with `?include=ttl`; the worker's sweep deletes a thread once `expires_at` has passed.
ALTER TABLE keel.threads
    ADD COLUMN ttl_strategy text CHECK (ttl_strategy IN ('delete')),
    ADD COLUMN ttl_minutes double precision CHECK (ttl_minutes >= 0),
    ADD COLUMN expires_at timestamptz;
CREATE INDEX threads_expires_at_idx ON keel.threads (expires_at) WHERE expires_at IS NOT NULL;

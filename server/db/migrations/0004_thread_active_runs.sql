-- How many of a thread's runs are pending or running, kept on the thread row. Whoever creates or ends a run
-- updates that row, and an UPDATE works on the row's latest version even when another transaction changed
-- it after the statement began, where a count of keel.runs rows would miss a run created meanwhile. A run
-- created as its thread's only active one may start at once in the process that created it.
ALTER TABLE keel.threads ADD COLUMN active_runs integer NOT NULL DEFAULT 0 CHECK (active_runs >= 0);
UPDATE keel.threads t SET active_runs = (
    SELECT count(*) FROM keel.runs r WHERE r.thread_id = t.thread_id AND r.status IN ('pending', 'running'));

-- A thread runs one run at a time: a database error rather than two runs writing one thread's checkpoints.
CREATE UNIQUE INDEX runs_one_running_per_thread_idx ON keel.runs (thread_id) WHERE status = 'running';

-- A thread runs one run at a time. Claims keep to that by their queries; a run created already running (in
-- the process that made it, when a worker slot is free there) relies on this index when two creates race.
CREATE UNIQUE INDEX runs_one_running_per_thread_idx ON keel.runs (thread_id) WHERE status = 'running';

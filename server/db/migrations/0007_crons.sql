-- Crons as LangGraph Server has them: a schedule that creates an ordinary run each time it is due. A cron on a
-- thread runs on it (and goes with it); a cron without one gets a new thread per run. next_run_at is the one due
-- time: a scheduler claims a cron by locking its row while it is due, creates the run and moves next_run_at on in
-- the same transaction, so each due time makes exactly one run whichever keel process sees it first.
CREATE TABLE keel.crons (
    cron_id          uuid PRIMARY KEY,
    assistant_id     text NOT NULL,
    thread_id        uuid REFERENCES keel.threads (thread_id) ON DELETE CASCADE,
    schedule         text NOT NULL,
    timezone         text,
    payload          jsonb NOT NULL DEFAULT '{}',
    metadata         jsonb NOT NULL DEFAULT '{}',
    enabled          boolean NOT NULL DEFAULT true,
    on_run_completed text CHECK (on_run_completed IN ('delete', 'keep')),
    end_time         timestamptz,
    next_run_at      timestamptz NOT NULL,
    user_id          text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX crons_due_idx ON keel.crons (next_run_at) WHERE enabled;
CREATE INDEX crons_thread_idx ON keel.crons (thread_id);
CREATE INDEX crons_metadata_idx ON keel.crons USING gin (metadata jsonb_path_ops);

-- keel's own tables: threads, assistants, runs (the run queue) and the per-run event log.
-- LangGraph's checkpoint tables are created by AsyncPostgresSaver.setup(), not here.

CREATE TABLE keel.threads (
    thread_id   uuid PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    metadata    jsonb NOT NULL DEFAULT '{}',
    status      text NOT NULL DEFAULT 'idle'
                CHECK (status IN ('idle', 'busy', 'interrupted', 'error')),
    config      jsonb NOT NULL DEFAULT '{}',
    "values"    jsonb,
    interrupts  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX threads_metadata_idx ON keel.threads USING gin (metadata jsonb_path_ops);
CREATE INDEX threads_status_idx ON keel.threads (status, updated_at DESC);

CREATE TABLE keel.assistants (
    assistant_id uuid PRIMARY KEY,
    graph_id     text NOT NULL,
    name         text NOT NULL,
    description  text,
    config       jsonb NOT NULL DEFAULT '{}',
    context      jsonb NOT NULL DEFAULT '{}',
    metadata     jsonb NOT NULL DEFAULT '{}',
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE keel.runs (
    run_id             uuid PRIMARY KEY,
    thread_id          uuid REFERENCES keel.threads (thread_id) ON DELETE CASCADE,
    assistant_id       text NOT NULL,
    graph_id           text NOT NULL,
    status             text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'running', 'success', 'error', 'timeout', 'interrupted')),
    kwargs             jsonb NOT NULL DEFAULT '{}',
    metadata           jsonb NOT NULL DEFAULT '{}',
    multitask_strategy text NOT NULL DEFAULT 'enqueue',
    attempt            integer NOT NULL DEFAULT 0,
    lease_owner        text,
    lease_expires_at   timestamptz,
    cancel_action      text CHECK (cancel_action IN ('interrupt', 'rollback')),
    error              text,
    usage              jsonb NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    ended_at           timestamptz
);
-- The queue: oldest pending run first; a thread's runs in creation order.
CREATE INDEX runs_pending_idx ON keel.runs (created_at) WHERE status = 'pending';
CREATE INDEX runs_thread_idx ON keel.runs (thread_id, created_at);
CREATE INDEX runs_lease_idx ON keel.runs (lease_expires_at) WHERE status = 'running';

CREATE TABLE keel.run_events (
    run_id     uuid NOT NULL REFERENCES keel.runs (run_id) ON DELETE CASCADE,
    seq        bigint NOT NULL,
    event      text NOT NULL,
    data       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, seq)
);

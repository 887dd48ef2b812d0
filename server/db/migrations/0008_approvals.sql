-- The audit trail of approval decisions: one row per decision on an approval interrupt (an answer, or a discard by
-- a state update), written in the transaction that creates the run carrying the answer (or that discards it), so the
-- row exists exactly when the decision does. An approval is decided once: one row per thread and interrupt id
-- that is not superseded (a copied thread has the same interrupt ids as its original). A decision is superseded when the approval is pending again at the thread's head and decided anew:
-- its run never got past it (rolled back, cancelled, failed); the earlier row stays, marked.
CREATE TABLE keel.approvals (
    approval_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    interrupt_id   text NOT NULL,
    thread_id      uuid NOT NULL,  -- no foreign key: the trail outlives a deleted thread (and its runs)
    run_id         uuid,           -- the run carrying the answer; NULL for a discard
    tool           text NOT NULL,
    proposed_args  jsonb NOT NULL,
    decision       text NOT NULL CHECK (decision IN ('accept', 'edit', 'reject', 'respond', 'discard')),
    final_args     jsonb,          -- what the tool runs with (the proposal, or the edit); NULL when it does not run
    reason         text,           -- a reject's reason
    message        text,           -- a respond's message
    decider        text NOT NULL,  -- the decider's identity ('' without auth)
    decider_name   text NOT NULL DEFAULT '',
    requested_by   text NOT NULL DEFAULT '',  -- the identity that started the run that asked
    decided_at     timestamptz NOT NULL DEFAULT now(),
    superseded_at  timestamptz
);
CREATE UNIQUE INDEX approvals_decided_once_idx ON keel.approvals (thread_id, interrupt_id) WHERE superseded_at IS NULL;
CREATE INDEX approvals_thread_idx ON keel.approvals (thread_id, decided_at DESC);
CREATE INDEX approvals_run_idx ON keel.approvals (run_id);
CREATE INDEX approvals_decided_at_idx ON keel.approvals (decided_at DESC);

-- One approval interrupt can ask about several calls (the approval_required calls of one model turn, answered by one
-- list of decisions): each call decided is its own row, told apart by its index in the interrupt's action requests
-- (0 for an interrupt of one call, as every row before this migration). A `resolved` decision is "mark as resolved"
-- (a run's goto to the end): the call did not run.
ALTER TABLE keel.approvals ADD COLUMN action_index integer NOT NULL DEFAULT 0 CHECK (action_index >= 0);
DROP INDEX keel.approvals_decided_once_idx;
CREATE UNIQUE INDEX approvals_decided_once_idx ON keel.approvals (thread_id, interrupt_id, action_index)
    WHERE superseded_at IS NULL;
ALTER TABLE keel.approvals DROP CONSTRAINT approvals_decision_check;
ALTER TABLE keel.approvals ADD CONSTRAINT approvals_decision_check
    CHECK (decision IN ('accept', 'edit', 'reject', 'respond', 'discard', 'resolved'));

-- Budget interrupts (nodes/budget.py) are answered like approvals and audited in keel.approvals with tool 'budget':
-- 'extend' (final_args: the amounts each limit is raised by) or 'stop' (reason). Runs read them back for their limits.
ALTER TABLE keel.approvals DROP CONSTRAINT approvals_decision_check;
ALTER TABLE keel.approvals ADD CONSTRAINT approvals_decision_check
    CHECK (decision IN ('accept', 'edit', 'reject', 'respond', 'discard', 'resolved', 'extend', 'stop'));
CREATE INDEX approvals_budget_idx ON keel.approvals (thread_id) WHERE tool = 'budget';

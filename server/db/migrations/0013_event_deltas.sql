-- Large events may be stored as a difference from an earlier event of the same run (server/runs/deltas.py):
-- `data` holds the literal text, `copies` says which parts of event `base` go between it.
-- base 0: `data` is the whole text (every row written before this migration).
ALTER TABLE keel.run_events
    ADD COLUMN base bigint NOT NULL DEFAULT 0,
    ADD COLUMN copies text NOT NULL DEFAULT '';

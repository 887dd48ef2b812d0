-- Large events are stored as a difference from an earlier event of the same run (server/runs/deltas.py):
-- `data` holds the middle, and the text is left(<event base's text>, head) || data || right(<its text>, tail).
-- base 0: `data` is the whole text (every row written before this migration).
ALTER TABLE keel.run_events
    ADD COLUMN base bigint NOT NULL DEFAULT 0,
    ADD COLUMN head integer NOT NULL DEFAULT 0,
    ADD COLUMN tail integer NOT NULL DEFAULT 0;

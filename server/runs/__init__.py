"""Durable runs: the runs table is the queue, workers lease runs, every event goes to a log in Postgres."""

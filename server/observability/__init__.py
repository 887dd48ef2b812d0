"""Observability: Langfuse traces per run, token usage and cost, Prometheus metrics and structured logs.

Only `server/` imports these; graphs, nodes and tools stay free of langfuse and prometheus."""

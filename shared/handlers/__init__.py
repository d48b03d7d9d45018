"""Service handlers: the use cases entrypoints call (accept, recompute, queries)."""

"""The contract with partners: event types and fields, their schemas and codec, the
ingest OpenAPI, deterministic JSON."""

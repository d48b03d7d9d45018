"""Read-side handlers: the published ranking, city documents, the timeline, feed reports,
and the one parser of query parameters."""

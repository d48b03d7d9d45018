"""Redis adapter: the event log, submissions, feeds, city state and the ranking."""

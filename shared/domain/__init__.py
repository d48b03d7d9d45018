"""The domain: what the index is made of, with no I/O."""

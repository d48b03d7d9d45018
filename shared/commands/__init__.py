"""Write-side handlers: accept, review, recompute, bands, webhook deliveries.

They talk to the store through the small Protocol ports in shared/commands/ports.py."""

"""Pure code: canonical JSON, manifests, diff, plans, retention. No I/O, no clock, no logging."""

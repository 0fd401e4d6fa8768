"""Events: the symbol event service (issue 10, being built). Not yet a registered
pipeline: it declares no PIPELINE until its verbs (`serve`, `rebuild`, `load`) exist.
Built so far: `log.py`, the group-committed append-only log that keeps every
acknowledged event; `aggregates.py`, the per-symbol aggregates in Redis or in memory,
rebuilt exactly from the stored events; `service.py`, the HTTP contract on Starlette and
uvicorn (the range dashboard still computed from the log, not yet fast); `load.py`,
closed segments into `events.raw_events` through the core's ingest."""

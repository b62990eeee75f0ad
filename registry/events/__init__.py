"""Registry notifications: stored as they arrive (``ingest``), applied to the index after
(``apply``), by the worker. DESIGN.md "Registry events" has the facts they rely on."""

"""How events get in: the HTTP intake (``ingest``: size, signature, headers), tolerant payload
models (``models``), pure routing of a delivery to a job (``routing``) and the group-commit
writer that stores deliveries and runs before answering (``writer``)."""

"""Continuous training: the schedules of each repository's default-branch configuration (``sync``) and the
worker's scheduler that claims their fires once across replicas and queues scheduled runs (``scheduler``)."""

"""Deployments as recorded state: the reconcile loop that keeps what the store records serving, the guard
that keeps it from racing a run's deploy, and the replica identity that holds their leases."""

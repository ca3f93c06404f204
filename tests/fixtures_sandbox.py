"""Fixtures that start the GitHub stand-in (filled in by the sandbox work)."""

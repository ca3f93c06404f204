"""modelgate reports package."""

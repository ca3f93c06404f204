"""modelgate bot package."""

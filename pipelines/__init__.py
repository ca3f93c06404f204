"""modelgate pipelines package."""

"""Shared pytest configuration: fixture plugins live in tests/fixtures_*.py."""

pytest_plugins = ["tests.fixtures_db", "tests.fixtures_sandbox"]

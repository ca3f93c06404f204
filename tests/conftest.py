"""Shared pytest configuration: fixture plugins live in tests/fixtures/."""

pytest_plugins = ["tests.fixtures.db", "tests.fixtures.standin", "tests.fixtures.speedups",
                  "tests.fixtures.environments", "tests.fixtures.s3_standin", "tests.fixtures.browser"]


"""``modelgate sandbox`` options: ``add_arguments(parser)`` then ``config_from_args(ns)``."""

from __future__ import annotations

import argparse

from github_standin.config import DEFAULT_PORT, DEFAULT_SECRET, SandboxConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sandbox's options to ``parser``."""
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--webhook-url", default=None,
                        help="where to POST webhooks (settable later: PUT /_sandbox/config)")
    parser.add_argument("--webhook-secret", default=DEFAULT_SECRET,
                        help="secret that signs webhooks (X-Hub-Signature-256)")
    parser.add_argument("--app-id", type=int, default=1, help="the GitHub App id")
    parser.add_argument("--app-slug", default="modelgate", help="slug of the App's bot user")
    key = parser.add_mutually_exclusive_group(required=True)
    key.add_argument("--app-public-key", metavar="PATH",
                     help="PEM public key that verifies the App's JWTs")
    key.add_argument("--app-private-key", metavar="PATH",
                     help="PEM private key of the App (its public half verifies JWTs)")


def config_from_args(ns: argparse.Namespace) -> SandboxConfig:
    """The SandboxConfig the parsed options describe."""
    common = {"port": ns.port, "host": ns.host, "webhook_url": ns.webhook_url,
              "webhook_secret": ns.webhook_secret, "app_id": ns.app_id,
              "app_slug": ns.app_slug, "app_name": ns.app_slug}
    if ns.app_private_key:
        return SandboxConfig.from_private_key(ns.app_private_key, **common)
    return SandboxConfig.from_public_key(ns.app_public_key, **common)

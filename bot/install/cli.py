"""``modelgate setup`` and ``modelgate protect``: their arguments and what they print."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from bot.settings import Settings, SettingsError

SettingsLoader = Callable[[argparse.Namespace], Settings]


def _repository(value: str) -> str:
    try:
        from bot.github import Repo  # not at import: the CLI's parser must not load prometheus-client

        return str(Repo.parse(value))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], settings: SettingsLoader) -> None:
    """Add ``setup`` and ``protect`` to the CLI's subcommands."""
    setup = sub.add_parser("setup", help="create the GitHub App with GitHub's manifest flow; write .env")
    setup.add_argument("--public-url", help="where GitHub and browsers reach `modelgate serve`, https://HOST "
                       "(default: MODELGATE_PUBLIC_URL); webhooks go to PUBLIC_URL/api/github/webhooks")
    setup.add_argument("--github-url", help="GitHub's web URL (default: from MODELGATE_GITHUB_API_URL, "
                       "https://github.com); GitHub Enterprise Server: https://HOST")
    setup.add_argument("--api-url", help="GitHub's REST URL (default: derived from --github-url)")
    setup.add_argument("--org", help="create the App for this organization (default: your account)")
    setup.add_argument("--name", help="the App's name (default: app.yml's; names are unique on GitHub)")
    setup.add_argument("--manifest", help="a manifest in app.yml's format (default: modelgate's app.yml)")
    setup.add_argument("--env-file", default=".env", help="the dotenv file to update (default: .env)")
    setup.add_argument("--key-dir", help="where the private key file goes (default: MODELGATE_DATA_DIR)")
    setup.add_argument("--host", default="127.0.0.1", help="the local page's address (default: 127.0.0.1)")
    setup.add_argument("--port", type=int, default=3001, help="the local page's port (default: 3001)")
    setup.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")
    setup.set_defaults(func=lambda args: cmd_setup(args, settings(args)))
    protect = sub.add_parser("protect", help="require modelgate/staging in a branch's protection (keeping "
                             "its other rules)")
    protect.add_argument("repository", type=_repository, metavar="OWNER/REPO")
    protect.add_argument("--branch", help="the protected branch (default: the repository's default branch)")
    protect.set_defaults(func=lambda args: cmd_protect(args, settings(args)))


def cmd_setup(args: argparse.Namespace, settings: Settings) -> int:
    """Create the App, write its settings to ``.env``, print the next steps."""
    from bot.install.manifest import default_manifest, github_urls
    from bot.install.setup_flow import SetupOptions, run_setup

    public_url = (args.public_url or settings.public_url or "").rstrip("/")
    if not public_url.startswith(("http://", "https://")):
        raise SettingsError("modelgate setup needs --public-url (or MODELGATE_PUBLIC_URL): the http(s) URL "
                            "GitHub sends webhooks to")
    web, api = github_urls(args.github_url, args.api_url, settings.github_api_url)
    template = yaml.safe_load(Path(args.manifest).read_text()) if args.manifest else default_manifest()
    options = SetupOptions(web, api, public_url, Path(args.env_file), Path(args.key_dir or settings.data_dir),
                           args.host, args.port, args.org, args.name, args.timeout)
    print(f"Open {options.local_url}/ in a browser to create the GitHub App on {web}.", flush=True)
    created = run_setup(options, template)
    if created is None:
        print(f"modelgate setup: no App was created within {args.timeout:g} s", file=sys.stderr)
        return 1
    app = created.app
    print(f"Created the GitHub App {app['name']} (id {app['id']}, owner {app['owner']['login']}): "
          f"{app['html_url']}")
    print(f"Wrote MODELGATE_APP_ID, MODELGATE_PRIVATE_KEY_PATH, MODELGATE_WEBHOOK_SECRET, "
          f"MODELGATE_PUBLIC_URL and MODELGATE_GITHUB_API_URL to {args.env_file}; the private key is "
          f"{created.key_file} (mode 0600).")
    if created.dropped:
        print(f"Removed {', '.join(created.dropped)} from {args.env_file} (it would override the new key).")
    print("Next steps:")
    print(f"  1. Install the App on your repositories: {app['html_url']}/installations/new")
    print(f"  2. Run `modelgate serve` where {public_url} reaches it "
          f"(GitHub sends webhooks to {public_url}/api/github/webhooks).")
    print("  3. Require the staging check before merging: `modelgate protect OWNER/REPO`.")
    return 0


def cmd_protect(args: argparse.Namespace, settings: Settings) -> int:
    """Require ``modelgate/staging`` in the branch's protection."""
    from bot.install.protect import protect

    return protect(settings, args.repository, args.branch)

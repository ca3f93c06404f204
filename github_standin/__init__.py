"""The GitHub stand-in (``modelgate sandbox``): the parts of GitHub a GitHub App uses, in memory.

REST with GitHub's auth and bodies, signed webhooks to the App, and a control API under
``/_sandbox/`` that plays users and administrators. Choices where GitHub left room:

* One installation (``installation_id``, 1) covers every repository; token scoping
  (``repositories``/``permissions``) is validated but not enforced. An installation token carries
  its App's permissions (the configured App's: ``config.app_permissions``, without ``administration``).
  The configured App, its tokens and key survive ``POST /_sandbox/reset``; repositories, activity, faults,
  logs and the Apps created from manifests do not. ``GET /installation/repositories`` lists every
  repository but forks.
* Branch protection: the default branch requires ``config.required_contexts``
  (``modelgate/staging``). A context passes on the PR head when its latest commit status is
  ``success``, or, with no status for it, when the latest check run *named exactly* like the
  context concluded ``success``/``neutral``/``skipped``. The REST branch-protection API
  (``rest_protection``) reads and replaces a branch's rules (``administration`` permission); merges
  enforce its required checks (from the named App only, when ``app_id`` is set) and ``strict``.
* Webhooks from control actions are awaited in order (the answer lists them); the REST merge
  answers first and delivers in the background. Failed deliveries are recorded, not retried.
  A receiver must not call the control API while handling a delivery (it would wait on itself).
  Each App with a webhook gets its deliveries (``hooks``): the configured one every event at
  ``webhook_url``; one created from a manifest its ``default_events`` (plus the installation events) at its
  ``hook_attributes.url``, signed with its webhook secret, carrying its installation.
  ``POST``/``DELETE /_sandbox/installation``, ``.../installation/repositories/add|remove`` and
  ``.../installation/suspend|unsuspend`` send the installation events (the installation covers every
  repository whatever they say); ``POST /_sandbox/repos`` with ``"push": false`` sends no ``push``.
  Pushes to forks owned by others send no ``push`` (the App is not installed there), only
  ``pull_request.synchronize``. Forks, collaborators and protection changes send nothing.
* Check buttons (``POST /_sandbox/repos/{o}/{r}/check-runs/{id}/rerequest`` and
  ``.../requested-action``, ``.../check-suites/{id}/rerequest``, each ``{"user"}``) are
  pressed only by users with write access (others get 403), "Re-run" only on a completed check
  run, an action only if the check run offers it (422). As on GitHub, the check run/suite in the
  payload lists no pull request (and no ``head_branch``) when its commit is on a fork.
* The App manifest flow (``web_apps``): ``POST /settings/apps/new?state=S`` (or
  ``/organizations/ORG/...``) with a ``manifest`` form field shows "Create GitHub App for OWNER";
  its button redirects to the manifest's ``redirect_url?code=C&state=S``. ``POST /_sandbox/app-manifests``
  issues a code without the pages. A code converts once, within an hour, into a *new* App (``apps``:
  new id, key, secrets, installed at once on every repository), which gets webhooks at its hook URL.
* ``GET .../collaborators/{user}/permission``: a user the sandbox has never seen → 404;
  a known non-collaborator → ``none``.
* Faults apply after authentication and before the operation changes anything.
"""

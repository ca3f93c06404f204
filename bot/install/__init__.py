"""Installing the App: ``modelgate setup`` (GitHub's App manifest flow → ``.env``) and ``modelgate protect``
(branch protection requires ``modelgate/staging``)."""

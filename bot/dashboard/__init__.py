"""The repository's dashboard issue, like Renovate's Dependency Dashboard: one issue found by a hidden
marker and edited in place (``keeper``), rendered from the store and GitHub (``render``, pure), with a
"retrain now" checkbox whose ticking queues a scheduled run (``checkbox``) and which the App unticks at once
(``untick``)."""

"""What a claimed run does: the worker pool claims runs from the store (``worker``), ``dispatch``
hands each to its kind's handler (``staging``, ``production``, ``rollback``, ``command``), which
read the repository's configuration (``repo_config``), run a pipeline job (``pipeline``) and
write the outcome on GitHub through ``bot.feedback``."""

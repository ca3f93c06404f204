"""PR commands: ``parser`` turns a comment body into invocations (pure: the webhook router uses
it to decide whether a comment is for modelgate), ``registry`` lists the commands, and each
command is one module (``retrain``, ``rollback``, ``help``) exporting its ``COMMAND`` spec."""

"""How ``modelgate serve`` lays itself over processes: one process on one core, else (``plan``) intake
processes sharing the port, which acknowledge the runs they queue, and a background process for the run
workers (``children``), started, watched and stopped by a supervisor (``supervisor``); intake tells the
background process of the runs it queued (``notice``); and the periodic threads its processes run
(``periodic``: the scheduler, the reconcile loop, WAL checkpoints)."""

"""How ``modelgate serve`` lays itself over processes: one process on one core, else (``plan``) intake
processes sharing the port and a background process for the run workers and the acknowledger
(``children``), started, watched and stopped by a supervisor (``supervisor``); intake tells the
background process of the runs it queued (``notice``); and the periodic threads its processes run
(``periodic``: the scheduler, the reconcile loop, WAL checkpoints)."""

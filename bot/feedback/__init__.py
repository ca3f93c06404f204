"""What modelgate writes on GitHub: the check run and commit status of a run (``check_run``),
the sticky PR comment (``sticky_comment``), every bot-written message as one pure function
(``messages``: check runs and statuses; ``outcomes``: production outcome lines; ``replies``:
answers to PR commands; ``deployments``: GitHub Deployment descriptions), the
names GitHub shows (``names``) and the published report files (``report_files``,
``published_report``)."""

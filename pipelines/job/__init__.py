"""The job: what runs the repository's code, isolated (``python -m pipelines.job SPEC_JSON``).

It imports the repository, trains, predicts with the candidate and the champion and writes plain
files (``files``); it never sees MLflow, the store, the App's settings or a token.
"""

"""Demo data: scikit-learn's bundled wine data set (no download), split reproducibly.

Every bottle has exactly one role (stratified splits with fixed seeds; 178 bottles in all):

- training bottles (86): both pipelines train on them, so a staging candidate and the production
  champion it is compared with learned from the same rows;
- staging bottles (38): staging evaluates on them; nothing trains on them;
- holdout bottles (54): production evaluates on them, their measurements carrying a little seeded
  noise (new instruments); nothing trains on them.

So no model is ever evaluated on a bottle it was trained on: the champion (trained by production)
has not seen the staging bottles it is compared on in staging, and no candidate has seen the holdout.
"""

import numpy as np
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split

HOLDOUT_FRACTION = 0.3  # of all bottles: production's evaluation rows
STAGING_FRACTION = 0.3  # of the rest: staging's evaluation rows; the others are the training rows
NOISE = 0.2  # the holdout's measurement noise, in standard deviations of the training bottles


def _roles():
    """(training, staging, holdout) bottles, each as (X, y) keeping load_wine's row index."""
    X, y = load_wine(return_X_y=True, as_frame=True)
    X_rest, X_holdout, y_rest, y_holdout = train_test_split(
        X, y, test_size=HOLDOUT_FRACTION, random_state=0, stratify=y
    )
    X_train, X_staging, y_train, y_staging = train_test_split(
        X_rest, y_rest, test_size=STAGING_FRACTION, random_state=7, stratify=y_rest
    )
    return (X_train, y_train), (X_staging, y_staging), (X_holdout, y_holdout)


def load_staging():
    """(X_train, y_train, X_eval, y_eval) for staging runs: the training bottles vs the staging bottles."""
    (X_train, y_train), (X_eval, y_eval), _ = _roles()
    return X_train, y_train, X_eval, y_eval


def load_production():
    """(X_train, y_train, X_eval, y_eval) for production runs: the training bottles vs the noisy holdout."""
    (X_train, y_train), _, (X_holdout, y_holdout) = _roles()
    noise = np.random.default_rng(11).normal(0.0, NOISE, X_holdout.shape) * X_train.std().to_numpy()
    return X_train, y_train, X_holdout + noise, y_holdout

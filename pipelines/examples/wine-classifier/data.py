"""Demo data: scikit-learn's bundled wine data set (no download), split reproducibly.

Staging and production see different data. 30% of the bottles are held back for production only;
staging trains and evaluates within the rest, production trains on all of the rest and evaluates
on the held-back bottles, whose measurements carry a little seeded noise (new instruments).
"""

import numpy as np
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split


def _core_and_holdout():
    X, y = load_wine(return_X_y=True, as_frame=True)
    X_core, X_holdout, y_core, y_holdout = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    return X_core, y_core, X_holdout, y_holdout


def load_staging():
    """(X_train, y_train, X_eval, y_eval) for staging runs: both drawn from the core bottles."""
    X_core, y_core, _, _ = _core_and_holdout()
    X_train, X_eval, y_train, y_eval = train_test_split(
        X_core, y_core, test_size=0.3, random_state=7, stratify=y_core
    )
    return X_train, y_train, X_eval, y_eval


def load_production():
    """(X_train, y_train, X_eval, y_eval) for production runs: all core bottles vs the noisy holdout."""
    X_core, y_core, X_holdout, y_holdout = _core_and_holdout()
    noise = np.random.default_rng(11).normal(0.0, 0.2, X_holdout.shape) * X_core.std().to_numpy()
    return X_core, y_core, X_holdout + noise, y_holdout

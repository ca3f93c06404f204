"""Demo data: scikit-learn's bundled wine data set (no download), split reproducibly."""

from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split


def _split(seed: int):
    X, y = load_wine(return_X_y=True, as_frame=True)
    return train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)


def load_staging():
    """(X_train, y_train, X_eval, y_eval) for staging runs."""
    X_train, X_eval, y_train, y_eval = _split(seed=7)
    return X_train, y_train, X_eval, y_eval


def load_production():
    """(X_train, y_train, X_eval, y_eval) for production runs."""
    X_train, X_eval, y_train, y_eval = _split(seed=11)
    return X_train, y_train, X_eval, y_eval

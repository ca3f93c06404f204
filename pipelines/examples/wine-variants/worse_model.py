"""Demo model, broken: always predicts the most frequent class."""

from sklearn.dummy import DummyClassifier


def train(X_train, y_train):
    """Fit and return the candidate model."""
    return DummyClassifier(strategy="most_frequent").fit(X_train, y_train)

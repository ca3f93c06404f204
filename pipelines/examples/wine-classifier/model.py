"""Demo model: a scaled logistic regression."""

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def train(X_train, y_train):
    """Fit and return the candidate model."""
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return model.fit(X_train, y_train)

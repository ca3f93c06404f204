"""Demo model, tuned: a scaled logistic regression with stronger regularisation."""

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def train(X_train, y_train):
    """Fit and return the candidate model."""
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))
    return model.fit(X_train, y_train)

"""The model changes the demo's pull requests make to the example project."""

BETTER_MODEL = '''"""Demo model, tuned: a scaled logistic regression with stronger regularisation."""

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def train(X_train, y_train):
    """Fit and return the candidate model."""
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))
    return model.fit(X_train, y_train)
'''

WORSE_MODEL = '''"""Demo model, broken: always predicts the most frequent class."""

from sklearn.dummy import DummyClassifier


def train(X_train, y_train):
    """Fit and return the candidate model."""
    return DummyClassifier(strategy="most_frequent").fit(X_train, y_train)
'''

"""scikit-learn as tutorials write it (no provinstr in it): a pipeline tuned by a grid search, held-out
accuracy from sklearn.metrics, cross-validation, and a chained fit. Writes what it printed as JSON."""

import json
import sys

from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X[:500], y[:500], test_size=0.3, random_state=0)

search = GridSearchCV(make_pipeline(StandardScaler(), SVC()), {"svc__C": [1, 10]}, cv=3)
search.fit(X_train, y_train)
accuracy = accuracy_score(y_test, search.predict(X_test))
print("held-out accuracy", accuracy)
y_pred = search.predict(X_test)
f1 = f1_score(y_test, y_pred, average="macro")
scores = cross_val_score(SVC(C=10), X_train, y_train, cv=3)
print("cross-validation", scores)
forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X_train, y_train)

with open(sys.argv[1], "w") as out:
    json.dump({"accuracy": accuracy, "f1": f1, "folds": scores.tolist()}, out)

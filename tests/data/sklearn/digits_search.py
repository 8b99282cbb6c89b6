"""A plain scikit-learn script (no provinstr in it): scale, search an SVC's C, score on held-out digits."""

import json
import sys

from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.svm import SVC
from sklearn.linear_model import LogisticRegression

X, y = load_digits(return_X_y=True)
X, y = X[:400] / 16.0, y[:400]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

baseline = LogisticRegression(C=0.5, max_iter=500)
baseline.fit(X_train, y_train)
print("baseline", baseline.score(X_test, y_test))

search = GridSearchCV(SVC(gamma="scale"), {"C": [0.1, 1.0, 10.0]}, cv=3)
search.fit(X_train, y_train)
accuracy = search.score(X_test, y_test)
predictions = search.predict(X_test)

with open(sys.argv[1], "w") as out:
    json.dump({"best_params": search.best_params_, "accuracy": accuracy,
               "tensorflow_loaded": "tensorflow" in sys.modules, "keras_loaded": "keras" in sys.modules}, out)

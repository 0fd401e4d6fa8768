"""Cars: the buying price of a car from the UCI Car Evaluation data set (issue 11, being
built). Not yet a registered pipeline: its verbs and demo step come next. Built so far:
`dataset.py` (the shipped data set and its categories, in order), `model.py` (the
scikit-learn model against a majority-class baseline, saved and loaded, predictions
with class probabilities, and what the data says directly), and `contracts.py` with
`land.py` (the training data into `cars.evaluations` through the core's ingest)."""

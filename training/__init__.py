"""Training side: labeled data loading, fitting, evaluation and the `stance` command line."""

"""The model runtime: bundle format and loader, the array-only scorer, sentence splitting, the one predict and
its explanations. Depends on NumPy and SciPy only; nothing here imports the API, batch jobs or training."""

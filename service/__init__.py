"""Runtime side: the model bundle format, its loader, sentence splitting, the pure predict and the HTTP API."""

"""The HTTP API: FastAPI app, routes, dependencies, middleware, problem responses, limits, metrics, logs,
settings and the production server. Built on `service.model`."""

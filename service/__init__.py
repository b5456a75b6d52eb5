"""The service side: the model runtime (`service.model`), the HTTP API (`service.api`) and batch jobs
(`service.batch`). The API and batch jobs depend on the runtime, never on each other."""

"""Batch jobs: streaming JSONL/CSV/Parquet readers and writers, partitions, and runs on processes or Dask.
Built on `service.model`."""

"""Batch jobs, built on `service.model`: `jobs` checks and runs a request, into one file or (`folder_jobs`) a folder
of parts cut by `partitions` and run where `engines` says; `readers`, `slices`, `parquet` and `writers` move rows
in and out, `rows` checks and labels them, `report` tells the user."""

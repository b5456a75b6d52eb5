"""The production server: `python -m service.serve`, uvicorn with the worker count from the settings.

Every worker builds its own app from `STANCE_*` settings (the factory `service.main:create_app`), so options
given here travel to the workers through the environment.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import uvicorn

from service.bundle import BundleError, load_bundle
from service.config import Settings


def run(model: str, host: str, port: int, workers: int, log_level: str) -> None:
    """Serve the bundle at `model` with `workers` processes (loads it first, so a bad bundle fails once, here)."""
    load_bundle(Path(model))
    os.environ["STANCE_MODEL_PATH"] = model
    uvicorn.run("service.main:create_app", factory=True, host=host, port=port, workers=workers, log_level=log_level)


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    parser = argparse.ArgumentParser(prog="python -m service.serve", description=__doc__)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--workers", type=int, default=settings.workers)
    parser.add_argument("--model", default=str(settings.model_path), help="bundle, `current` pointer or models folder")
    args = parser.parse_args(argv)
    try:
        run(args.model, args.host, args.port, args.workers, settings.log_level)
    except BundleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

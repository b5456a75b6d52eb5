"""The analyst's page: `/` serves static/index.html, `/static/...` its stylesheet, script and sample article.

Plain files, no build step and nothing loaded from the internet, so the page works offline.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(tags=["page"])


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    """The page itself; it calls POST /v1/classify from the browser."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


router.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

"""The short load test of `make test`: the same run as `make load-test` (64 connections, the production command,
a reload in the middle), for 15 seconds; any failed request, failed reload, restarted worker or growing worker
memory fails it. Needs wrk (`make test` installs it where it is missing)."""

from __future__ import annotations

import shutil

import pytest

from benchmarks.load_test import render, run
from service.api.settings import Settings
from service.model.bundle import Bundle

SECONDS = 15
CONNECTIONS = 64


def test_short_load_run_has_no_errors(bundle: Bundle) -> None:
    if shutil.which("wrk") is None:
        pytest.fail("wrk is missing: `apt-get install -y wrk` (`make test` installs it)", pytrace=False)
    result = run(bundle.path, seconds=SECONDS, connections=CONNECTIONS, workers=Settings().workers)
    print(render(result))
    assert result.ok, result.problems
    assert result.wrk["requests"] > 0
    assert set(result.wrk["versions"]) == set(result.versions)  # answers came from both models

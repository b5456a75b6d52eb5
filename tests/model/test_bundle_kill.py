"""Training never leaves a half-written bundle: a writer killed (SIGKILL) in the middle of
`service.model.bundle.write_bundle` leaves no `models/<version>` folder, `current` still names the old bundle, the
loader still serves it, and the next write removes the dead writer's staging folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from service.model.bundle import FITTED_FILE, MANIFEST_FILE, SCORER_FILE, Bundle, load_bundle, stale_staging
from tests.model_folders import models_with_two_versions, second_version

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# A writer whose second file gets 2 MB, then signals and blocks: the bundle is partly written when the test kills
# the process.
WRITER = """
import sys, time
from pathlib import Path
import numpy as np
from service.model.bundle import write_bundle
from service.model.linear import LinearScorer

def stall(path):
    with path.open("wb") as handle:
        handle.write(bytes(2_000_000))
        handle.flush()
        Path(sys.argv[2]).write_text("writing")
        time.sleep(120)

empty = LinearScorer(blocks=[], intercepts=np.zeros(0), head_slices={}, classes={})
write_bundle(Path(sys.argv[1]), "half-written", empty, {"heads": {}}, {"model.joblib": stall})
"""


def test_killed_writer_leaves_no_bundle_and_current_keeps_the_old_one(bundle: Bundle, tmp_path: Path) -> None:
    models_dir, first, _ = models_with_two_versions(bundle, tmp_path)
    marker = tmp_path / "marker"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(models_dir), str(marker)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert writer.poll() is None, "the writer exited before it was killed"
            assert time.monotonic() < deadline, "the writer never reached the middle of its write"
            time.sleep(0.05)
        [staging] = [entry for entry in models_dir.iterdir() if entry.name.startswith(".half-written.")]
        assert (staging / FITTED_FILE).stat().st_size > 1_000_000  # the payload is partly on disk
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait(30)
    assert writer.returncode == -signal.SIGKILL

    # No models/<version> without a complete manifest: only the two whole bundles and the hidden staging folder.
    visible = sorted(entry.name for entry in models_dir.iterdir() if not entry.name.startswith("."))
    assert "half-written" not in visible
    for name in visible:
        if (models_dir / name).is_dir():
            manifest = json.loads((models_dir / name / MANIFEST_FILE).read_text())
            assert manifest["version"] == name and len(manifest["files"][SCORER_FILE]["sha256"]) == 64
    assert (models_dir / "current").read_text().strip() == first
    assert load_bundle(models_dir / "current", models_dir=models_dir).version == first

    # The next write cleans up the dead writer's staging folder.
    assert stale_staging(models_dir) == [staging]
    second_version(bundle, models_dir, "after-the-crash")
    assert not staging.exists()
    assert sorted(entry.name for entry in models_dir.iterdir() if entry.name.startswith(".")) == []


def test_a_live_writers_staging_folder_is_left_alone(tmp_path: Path) -> None:
    staging = tmp_path / ".v2.abc123"
    staging.mkdir()
    import socket

    (staging / ".writer").write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "started": 0}))
    assert stale_staging(tmp_path) == []
    other_host = tmp_path / ".v3.def456"
    other_host.mkdir()
    (other_host / ".writer").write_text(json.dumps({"host": "elsewhere", "pid": 1, "started": 0}))
    assert stale_staging(tmp_path) == []  # another machine's writer: only after a day
    assert stale_staging(tmp_path, now=time.time() + 2 * 86_400) == [staging, other_host]

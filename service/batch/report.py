"""What a batch job tells its user: a progress bar over input rows while it runs, and what it did at the end."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from service.batch.rows import Stats


@dataclass
class Result:
    """What a job did: `stats` counts the whole job, `ran` what this run labelled (less when resuming)."""

    stats: Stats
    ran: Stats
    seconds: float
    output: str
    rejects: str | None
    partitions: int = 0
    skipped: int = 0


class Progress:
    """A tqdm bar over input rows, with the sentences labelled so far; does nothing when disabled."""

    def __init__(self, total: int | None, enabled: bool) -> None:
        self.bar = None
        self.sentences = 0
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=" rows", unit_scale=True, file=sys.stderr, dynamic_ncols=True)

    def update(self, stats: Stats) -> None:
        if self.bar is not None:
            self.sentences += stats.sentences
            self.bar.set_postfix_str(f"{self.sentences:,} sentences", refresh=False)
            self.bar.update(stats.rows)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextlib.contextmanager
def progress_bar(total: int | None, enabled: bool) -> Iterator[Progress]:
    bar = Progress(total, enabled)
    try:
        yield bar
    finally:
        bar.close()


def summary_line(result: Result) -> str:
    """The last line of a job: rows read, classified and rejected, sentences, time and rate."""
    stats, ran = result.stats, result.ran
    rate = ran.sentences / result.seconds if result.seconds > 0 else 0.0
    line = (
        f"{stats.rows:,} rows read, {stats.classified:,} classified, {stats.rejected:,} rejected"
        f"{f' (see {result.rejects})' if result.rejects else ''}; "
        f"{ran.sentences:,} sentences labelled in {result.seconds:.1f} s ({rate:,.0f} sentences/s)"
    )
    if result.partitions:
        line += f"; {result.partitions:,} partitions in {result.output}"
        if result.skipped:
            line += f", {result.skipped:,} of them already written"
    return line

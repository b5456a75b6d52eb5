"""The model registry: list the bundles, promote a new one only if it is no worse, promote and roll back by hand.

`models/current` names the served bundle (`set_current` replaces it atomically); `models/.history` lists the
versions that were current before, oldest first, one a line (rewritten atomically), so `stance rollback` can go
back to the previous one. A bundle's held-out scores go to `scores.json` beside its manifest: the manifest's
SHA-256s cover only the files it lists, so this file can be written after training without touching it. A
running service picks up a switch on reload (`POST /v1/admin/reload` or SIGHUP).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.model.bundle import HEADS, MANIFEST_FILE, BundleError, load_bundle, read_manifest, set_current
from service.model.files import atomic_file
from service.model.paths import CURRENT_FILE, MODELS_DIR
from training.sources import public_data_from_env

HISTORY_FILE = ".history"
SCORES_FILE = "scores.json"
TOLERANCE = 0.01  # a head may score this much macro-F1 below the current model's on a held-out set
PROMOTE_MODES = ("auto", "always", "never")


class RegistryError(BundleError):
    """An unknown version, or nothing to roll back to."""


def current_version(models_dir: Path) -> str | None:
    pointer = models_dir / CURRENT_FILE
    return (pointer.read_text(encoding="utf-8").strip() or None) if pointer.is_file() else None


def versions(models_dir: Path) -> list[str]:
    """The bundles in the folder, oldest first (versions are timestamps); staging folders are hidden."""
    if not models_dir.is_dir():
        return []
    return sorted(
        entry.name
        for entry in models_dir.iterdir()
        if not entry.name.startswith(".") and entry.is_dir() and (entry / MANIFEST_FILE).is_file()
    )


def read_history(models_dir: Path) -> list[str]:
    path = models_dir / HISTORY_FILE
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return [line.strip() for line in lines if line.strip()]


def write_history(models_dir: Path, history: list[str]) -> None:
    with atomic_file(models_dir / HISTORY_FILE) as path:
        path.write_text("".join(f"{version}\n" for version in history), encoding="utf-8")


def promote(models_dir: Path, version: str) -> str | None:
    """Make `version` current, remembering the one it replaces; the previous current version."""
    if version not in versions(models_dir):
        known = ", ".join(versions(models_dir)) or "none"
        raise RegistryError(f"no bundle {version!r} in {models_dir} (bundles: {known})")
    previous = current_version(models_dir)
    if previous and previous != version:
        # History first: a crash before the switch leaves an entry equal to current, which rollback skips.
        write_history(models_dir, [*read_history(models_dir), previous])
    set_current(models_dir, version)
    return previous


def rollback(models_dir: Path) -> tuple[str | None, str]:
    """Make the previous current version current again; (the version left, the version restored)."""
    current, history = current_version(models_dir), read_history(models_dir)
    while history and (history[-1] == current or history[-1] not in versions(models_dir)):
        history.pop()
    if not history:
        raise RegistryError(f"nothing to roll back to: {models_dir / HISTORY_FILE} names no earlier bundle")
    target = history.pop()
    set_current(models_dir, target)
    write_history(models_dir, history)
    return current, target


def read_scores(bundle_dir: Path) -> dict[str, Any]:
    try:
        scores = json.loads((bundle_dir / SCORES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return scores if isinstance(scores, dict) else {}


def record_scores(bundle_dir: Path, test: dict[str, dict[str, float]], sets: dict[str, str]) -> None:
    """Add held-out macro-F1 per set and head to the bundle's scores file (the manifest is left alone)."""
    scores = read_scores(bundle_dir)
    scores.setdefault("test", {}).update(test)
    scores.setdefault("data", {}).update(sets)
    scores["scored"] = datetime.now(UTC).isoformat(timespec="seconds")
    with atomic_file(bundle_dir / SCORES_FILE) as path:
        path.write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")


def held_out_sets(corpus_dir: Path, public_dir: Path | None) -> dict[str, str]:
    """The corpus test split and, with a public folder, every public held-out portion present in it."""
    if public_dir is None:
        return {"corpus": str(corpus_dir)}
    from training.sources import evaluation_sets, parse_spec

    sets = evaluation_sets(public_dir, corpus_dir)
    return {name: spec for name, spec in sets.items() if name == "corpus" or parse_spec(spec)[1].exists()}


def score(bundle_dir: Path, data: dict[str, list[Any]]) -> dict[str, dict[str, float]]:
    """Macro-F1 per held-out set and head, through the service's predict (training.evaluate)."""
    from training.evaluate import evaluate

    bundle = load_bundle(bundle_dir)
    return {
        name: {head: s["macro_f1"] for head, s in evaluate(bundle, examples)["heads"].items()}
        for name, examples in data.items()
        if examples
    }


def compare(current: dict[str, dict[str, float]], new: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """One row per set and head the current model is scored on: both scores, the difference and a verdict."""
    rows = []
    for name, heads in current.items():
        for head, before in heads.items():
            after = new.get(name, {}).get(head)
            diff = None if after is None else after - before
            verdict = "missing" if diff is None else "worse" if diff < -TOLERANCE else "ok"
            rows.append({"head": head, "set": name, "current": before, "new": after, "diff": diff, "verdict": verdict})
    return rows


def render_comparison(rows: list[dict[str, Any]], current: str, new: str) -> str:
    lines = [f"held-out macro-F1, current {current} against new {new} (worse: more than {TOLERANCE} below)"]
    lines.append(f"{'head':<10} {'set':<14} {'current':>8} {'new':>8} {'diff':>8}  verdict")
    for row in rows:
        new_f1 = "-" if row["new"] is None else f"{row['new']:.3f}"
        diff = "-" if row["diff"] is None else f"{row['diff']:+.3f}"
        lines.append(
            f"{row['head']:<10} {row['set']:<14} {row['current']:>8.3f} {new_f1:>8} {diff:>8}  {row['verdict']}"
        )
    return "\n".join(lines)


def promote_trained(models_dir: Path, version: str, mode: str, corpus_dir: Path, public_dir: Path | None) -> bool:
    """After `stance train`: score the new bundle (and the current one) on the held-out sets, print the
    comparison on stderr, and make the new bundle current as `mode` says (auto: only if no head is worse)."""
    from training.data import load_examples

    current = current_version(models_dir)
    if current == version or (current and current not in versions(models_dir)):
        current = None
    # The public sets are slow to read and score: only when there is a current model to compare against.
    sets = held_out_sets(corpus_dir, public_dir if current is not None else None)
    data = {name: load_examples([spec], split="test") for name, spec in sets.items()}
    new_scores = score(models_dir / version, data)
    record_scores(models_dir / version, new_scores, sets)
    worse = False
    if current is not None:
        current_scores = score(models_dir / current, data)
        record_scores(models_dir / current, current_scores, sets)
        rows = compare(current_scores, new_scores)
        worse = any(row["verdict"] != "ok" for row in rows)
        print(render_comparison(rows, current, version), file=sys.stderr)
    # The first model is always promoted: a models folder with no current one serves nothing.
    promoted = current is None or mode == "always" or (mode == "auto" and not worse)
    if promoted:
        promote(models_dir, version)
    reasons = {"always": "--promote always", "never": "--promote never"}
    reason = "no current model" if current is None else reasons.get(mode, "a head is worse" if worse else "none worse")
    state = "promoted: now current" if promoted else f"not promoted: {current} stays current"
    print(f"stance train: {version} {state} ({reason})", file=sys.stderr)
    return promoted


def data_summary(manifest: dict[str, Any]) -> str:
    data = manifest.get("training_data") or {}
    rows = data.get("rows") or {}
    per_source = data.get("rows_per_source")
    parts = [", ".join(f"{source} {n}" for source, n in per_source.items())] if per_source else []
    parts.append(f"train {rows.get('train', '?')} / dev {rows.get('dev', '?')}")
    if "feedback" in data:
        parts.append(f"feedback {data['feedback'].get('rows', '?')}")
    return "; ".join(parts)


def f1s(scores: dict[str, Any]) -> str:
    return " ".join(f"{scores[head]:.3f}" if head in scores else "  -  " for head in HEADS)


def render_models(models_dir: Path) -> str:
    """The bundles as a table: current mark, version, creation time, training data, dev and test macro-F1."""
    current = current_version(models_dir)
    entries: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]] = []
    for version in versions(models_dir):
        try:
            manifest = read_manifest(models_dir / version)
        except BundleError as error:
            entries.append((version, "?", f"unreadable: {error}", {}, {}))
            continue
        dev = {head: s.get("macro_f1") for head, s in (manifest.get("metrics") or {}).get("dev", {}).items()}
        test = read_scores(models_dir / version).get("test", {})
        entries.append((version, str(manifest.get("created", "?")), data_summary(manifest), dev, test))
    sets = sorted({name for *_, test in entries for name in test}, key=lambda name: (name != "corpus", name))
    heads = "/".join(HEADS)
    header = ["", "version", "created", "training data (rows per source)", f"dev {heads}"]
    header += [f"test:{name} {heads}" for name in sets]
    table = [header]
    for version, created, summary, dev, test in entries:
        row = ["*" if version == current else "", version, created, summary, f1s(dev)]
        table.append(row + [f1s(test[name]) if name in test else "-" for name in sets])
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in table]
    if not entries:
        lines.append(f"no bundles in {models_dir} (train one with `stance train`)")
    lines.append(f"* current: {current or 'none'}; macro-F1 per head ({heads})")
    return "\n".join(lines) + "\n"


def cmd_models(args: argparse.Namespace) -> None:
    if not args.models.is_dir():
        raise RegistryError(f"{args.models}: no such models folder")
    print(render_models(args.models), end="")


def cmd_promote(args: argparse.Namespace) -> None:
    previous = promote(args.models, args.version)
    print(
        f"stance promote: {args.version} is current (was {previous or 'none'}); reload a running service "
        "(POST /v1/admin/reload or SIGHUP)",
        file=sys.stderr,
    )


def cmd_rollback(args: argparse.Namespace) -> None:
    left, restored = rollback(args.models)
    print(
        f"stance rollback: {restored} is current (was {left or 'none'}); reload a running service "
        "(POST /v1/admin/reload or SIGHUP)",
        file=sys.stderr,
    )


def public_folder(given: Path | None) -> Path | None:
    """The public data folder for the comparison: `--public`, else $STANCE_PUBLIC_DATA (set but empty: none)."""
    folder = given or public_data_from_env()
    if folder is not None and not folder.is_dir():
        raise RegistryError(f"{folder}: no such folder of public datasets")
    return folder


def add_parsers(commands: Any) -> None:
    """Add `stance models`, `stance promote VERSION` and `stance rollback` to the command line."""
    help_models = "models folder (default: %(default)s)"
    listing = commands.add_parser("models", help="list the model bundles, their data and scores, and the current one")
    listing.add_argument("--models", type=Path, default=MODELS_DIR, help=help_models)
    listing.set_defaults(handler=cmd_models)
    switch = commands.add_parser("promote", help="make a bundle current (a running service picks it up on reload)")
    switch.add_argument("version", help="the bundle's version (a folder name in the models folder)")
    switch.add_argument("--models", type=Path, default=MODELS_DIR, help=help_models)
    switch.set_defaults(handler=cmd_promote)
    back = commands.add_parser("rollback", help="make the previous current bundle current again")
    back.add_argument("--models", type=Path, default=MODELS_DIR, help=help_models)
    back.set_defaults(handler=cmd_rollback)

"""`stance train`: read the labeled data (the corpus, public sets, corrections), train a bundle, promote it if no
worse; and which public dev rows choose the confidence thresholds (`--public-dev`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from service.model.paths import CORPUS_DIR, FEEDBACK_DIR, MODELS_DIR
from training.data import load_examples
from training.examples import DataError, Example
from training.extras import require_train_extra
from training.registry import PROMOTE_MODES, promote_trained, public_folder
from training.sources import public_data_from_env, public_dev_specs, public_training_specs


def public_dev_rows(args: argparse.Namespace) -> list[Example]:
    """The public sets' dev rows that choose the thresholds beside the dev split: none with --public (its dev rows
    are in the dev split already), nor without a folder, which stderr and the manifest's `threshold_data` say."""
    if args.public:
        return []
    if args.public_dev is None:
        print(
            "stance train: no public data folder (--public-dev, $STANCE_PUBLIC_DATA): thresholds chosen on the dev "
            "split alone",
            file=sys.stderr,
        )
        return []
    if not args.public_dev.is_dir():
        raise DataError(f"{args.public_dev}: no such folder of public datasets")
    rows = load_examples(public_dev_specs(args.public_dev), split="dev")
    print(
        f"stance train: {len(rows)} public dev rows from {args.public_dev}, to choose the thresholds", file=sys.stderr
    )
    return rows


def cmd_train(args: argparse.Namespace) -> None:
    require_train_extra("train")
    from training.feedback import default_feedback_dir, load_feedback, report
    from training.train import train_bundle

    data = args.data or [CORPUS_DIR]
    if args.public:
        if not args.public.is_dir():
            raise DataError(f"{args.public}: no such folder of public datasets")
        data = [*data, *public_training_specs(args.public)]
    params = {"embedding": False} if args.no_embedding else None
    examples = load_examples(data)
    public_dev = public_dev_rows(args)
    recorded = None
    if not args.no_feedback:
        feedback = load_feedback(args.feedback or default_feedback_dir(), examples)
        print(f"stance train: {report(feedback)}", file=sys.stderr)
        examples, recorded = [*examples, *feedback.used], feedback.manifest()
    bundle_dir = train_bundle(examples, data, args.out, params=params, feedback=recorded, public_dev=public_dev)
    promote_trained(args.out, bundle_dir.name, args.promote, CORPUS_DIR, public_folder(args.public))
    print(bundle_dir.name)


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add `stance train` to the command line's sub-commands."""
    train = commands.add_parser("train", help="train a model bundle and make it current if it is no worse")
    train.add_argument(
        "--data", type=Path, action="append", help=f"labeled file or folder (repeatable; default {CORPUS_DIR})"
    )
    train.add_argument("--out", type=Path, default=MODELS_DIR, help="models folder (default: %(default)s)")
    public = train.add_mutually_exclusive_group()
    public.add_argument(
        "--public",
        type=Path,
        metavar="DIR",
        help="also train on every public training set in this folder (e.g. ../shared/data); their dev rows join the "
        "dev split, which chooses the confidence thresholds",
    )
    public.add_argument(
        "--public-dev",
        type=Path,
        metavar="DIR",
        default=public_data_from_env(),
        help="without training on them, choose each head's confidence threshold on the dev split plus the dev rows "
        "of every public set in this folder, never their training or test rows (default: $STANCE_PUBLIC_DATA; "
        "without a folder, on the dev split alone; the manifest's threshold_data records which)",
    )
    train.add_argument(
        "--no-embedding",
        action="store_true",
        help="leave out the sentence-embedding block (data/embeddings): TF-IDF blocks only, faster, less accurate",
    )
    feedback = train.add_mutually_exclusive_group()
    feedback.add_argument(
        "--feedback",
        type=Path,
        help="also train on the analysts' corrections in this folder (default: $STANCE_FEEDBACK_DIR, else "
        f"{FEEDBACK_DIR}; missing or empty: none); rows whose text is in the test split are left out",
    )
    feedback.add_argument("--no-feedback", action="store_true", help="train without the feedback folder")
    train.add_argument(
        "--promote",
        choices=PROMOTE_MODES,
        default="auto",
        help="auto (default): make the new bundle current only if no head is more than 0.01 macro-F1 below the "
        "current one on the corpus test split (and the public held-out sets, with --public or $STANCE_PUBLIC_DATA)",
    )
    train.set_defaults(handler=cmd_train)
    return train

"""The `stance` command line: train, evaluate, classify and serve."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from service.batch.engines import ENGINES
from service.batch.jobs import Request, run
from service.batch.readers import INPUT_FORMATS, InputError
from service.batch.report import summary_line
from service.batch.rows import Options
from service.batch.writers import OUTPUT_FORMATS
from service.model.bundle import BundleError, load_bundle
from service.model.paths import MODELS_DIR, PROJECT_ROOT
from service.model.text import MAX_TEXT_CHARS
from training.data import SPLITS, load_examples, read_label_map
from training.examples import DataError
from training.extras import MissingExtra, require_train_extra
from training.registry import add_parsers as add_registry_parsers
from training.suggest import add_parser as add_suggest_parser
from training.train_command import add_parser as add_train_parser

DEFAULT_MODEL = MODELS_DIR / "current"
COMMANDS = ("train", "evaluate", "classify", "suggest")  # those that don't need the server's options


def cmd_evaluate(args: argparse.Namespace) -> None:
    require_train_extra("evaluate")
    from training.evaluate import evaluate, render_markdown, write_report

    bundle = load_bundle(args.model)
    label_map = read_label_map(args.label_map) if args.label_map else None
    examples = load_examples(args.data, split=args.split, label_map=label_map)
    report = evaluate(bundle, examples, restrict_to_gold_labels=args.restrict_to_gold_labels)
    report.update({"data": [str(path) for path in args.data], "split": args.split})
    out_dir = args.report or PROJECT_ROOT / "reports" / bundle.version
    write_report(report, out_dir)
    print(render_markdown(report), end="")
    print(f"report written to {out_dir}", file=sys.stderr)


def cmd_classify(args: argparse.Namespace) -> None:
    mode = "sentences" if args.split_sentences else "summary" if args.document_summary else "texts"
    if args.explain and mode == "summary":
        raise InputError("--explain explains labels of texts or sentences; --document-summary has none")
    options = Options(
        text_field=args.text_field,
        id_field=args.id_field,
        mode=mode,
        max_text_chars=args.max_text_chars,
        partition_rows=args.partition_rows,
        explain=args.explain,
        precision=args.precision,
    )
    request = Request(
        input=args.input,
        output=args.output,
        model=args.model,
        options=options,
        input_format=args.input_format,
        output_format=args.output_format,
        rejects=args.rejects,
        workers=args.workers,
        engine=args.engine,
        scheduler=args.scheduler,
        resume=args.resume,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    # This process lives for the job: what it imported, moved out of the cyclic collector's sight, is not scanned
    # again by every full collection while records are built (3% of a --split-sentences job of 36,147 rows).
    gc.freeze()
    print(f"stance classify: {summary_line(run(request))}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> None:
    from service.api.serve import serve_from_args

    status = serve_from_args(args)
    if status:
        raise SystemExit(status)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; the server's options only when `command` is `serve` or not known (they need
    the server's settings, whose import is a third of `stance classify`'s start-up)."""
    parser = argparse.ArgumentParser(prog="stance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    add_train_parser(commands)

    evaluate = commands.add_parser("evaluate", help="score a model on a labeled set and write a report")
    evaluate.add_argument(
        "--data", type=Path, action="append", required=True, help="labeled file or folder (repeatable)"
    )
    evaluate.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="bundle (default: %(default)s)")
    evaluate.add_argument("--report", type=Path, help="report folder (default: reports/<version>)")
    evaluate.add_argument("--split", choices=SPLITS, help="only rows of this split")
    evaluate.add_argument(
        "--label-map",
        type=Path,
        help='JSON mapping gold labels of another scheme onto ours: {"stance": {"x": "threat"}}',
    )
    evaluate.add_argument(
        "--restrict-to-gold-labels",
        action="store_true",
        help="choose each prediction among the labels present in the gold set only",
    )
    evaluate.set_defaults(handler=cmd_evaluate)

    classify = commands.add_parser(
        "classify", help="label every row of JSONL, CSV or Parquet files; writes JSONL or Parquet, or a folder of parts"
    )
    classify.add_argument("input", help="input file, folder of files, or - for standard input (JSONL or CSV)")
    classify.add_argument(
        "--output",
        "-o",
        default="-",
        help="output file (.parquet: Parquet, else JSONL), a folder of parts (runs on several workers, or a name "
        "ending in /), or - for standard output (default)",
    )
    classify.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="bundle (default: %(default)s)")
    classify.add_argument("--text-field", default="text", help="column holding the text (default: %(default)s)")
    classify.add_argument("--id-field", default="id", help="column kept as each record's id (default: %(default)s)")
    classify.add_argument("--input-format", choices=INPUT_FORMATS, help="override the format implied by the name")
    classify.add_argument("--output-format", choices=OUTPUT_FORMATS, help="override the format implied by the name")
    shape = classify.add_mutually_exclusive_group()
    shape.add_argument(
        "--split-sentences",
        action="store_true",
        help="one record per sentence, with the row's id, offsets and actors",
    )
    shape.add_argument(
        "--document-summary",
        action="store_true",
        help="one record per row: share of sentences per label per head, and relations between its actors",
    )
    classify.add_argument(
        "--explain", action="store_true", help="add, per head, the n-grams that pushed the chosen label up the most"
    )
    classify.add_argument(
        "--precision",
        type=int,
        choices=range(1, 17),
        metavar="DIGITS",
        help="round probabilities to this many decimal places (1 to 16; default: as computed)",
    )
    classify.add_argument(
        "--rejects",
        type=Path,
        help="rows that can't be labelled go here (default: OUTPUT.rejects.jsonl; to stdout, the first stops)",
    )
    classify.add_argument(
        "--max-text-chars",
        type=int,
        default=MAX_TEXT_CHARS,
        help="longer texts are rejected (default: %(default)s, the API's default limit)",
    )
    classify.add_argument("--workers", type=int, default=1, help="processes (or local Dask workers) (default: 1)")
    classify.add_argument(
        "--engine",
        choices=ENGINES,
        default="processes",
        help="run partitions in processes (default) or on a local Dask cluster",
    )
    classify.add_argument("--scheduler", help="run on this Dask cluster, e.g. tcp://host:8786 (implies --engine dask)")
    classify.add_argument(
        "--partition-rows", type=int, default=10_000, help="input rows per partition (default: %(default)s)"
    )
    classify.add_argument("--resume", action="store_true", help="skip partitions already in the output folder")
    classify.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
    classify.set_defaults(handler=cmd_classify)

    add_suggest_parser(commands)
    add_registry_parsers(commands)

    serve = commands.add_parser("serve", help="serve the HTTP API (as `python -m service.api.serve`)")
    if command in (None, "serve"):
        from service.api.serve import add_server_arguments

        add_server_arguments(serve)
    serve.set_defaults(handler=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = build_parser(given[0] if given and given[0] in COMMANDS else None).parse_args(argv)
    try:
        args.handler(args)
    except (BundleError, DataError, InputError, MissingExtra, OSError) as error:
        print(f"stance {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

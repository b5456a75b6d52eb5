"""The `stance` command line: train, evaluate, classify and serve."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from service.batch import FORMATS, InputError, classify_records, format_of, read_records
from service.bundle import BundleError, load_bundle, set_current
from service.config import CORPUS_DIR, MODELS_DIR, PROJECT_ROOT, Settings
from training.data import SPLITS, DataError, load_examples, read_label_map
from training.evaluate import evaluate, render_markdown, write_report
from training.sources import SOURCES
from training.train import train_bundle

DEFAULT_MODEL = MODELS_DIR / "current"
DATA_HELP = f"labeled .jsonl/.csv file or folder, or a public dataset as SOURCE:PATH ({', '.join(SOURCES)})"


def cmd_train(args: argparse.Namespace) -> None:
    data = args.data or [CORPUS_DIR]
    bundle_dir = train_bundle(load_examples(data), data, args.out)
    set_current(args.out, bundle_dir.name)
    print(bundle_dir.name)


def cmd_evaluate(args: argparse.Namespace) -> None:
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
    bundle = load_bundle(args.model)
    fmt = args.input_format or format_of(args.input)
    source = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8", newline="")  # noqa: SIM115
    target = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
    try:
        for record in classify_records(bundle, read_records(source, fmt), args.text_field):
            target.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        for stream in (source, target):
            if stream not in (sys.stdin, sys.stdout):
                stream.close()


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from service.main import create_app

    settings = Settings(model_path=args.model, host=args.host, port=args.port)
    bundle = load_bundle(settings.model_path)  # fail here, with the bundle's own message, not inside uvicorn
    uvicorn.run(create_app(settings, bundle), host=settings.host, port=settings.port, log_level=settings.log_level)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model bundle and make it current")
    train.add_argument(
        "--data", type=Path, action="append", help=f"labeled file or folder (repeatable; default {CORPUS_DIR})"
    )
    train.add_argument("--out", type=Path, default=MODELS_DIR, help="models folder (default: %(default)s)")
    train.set_defaults(handler=cmd_train)

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

    classify = commands.add_parser("classify", help="label every row of a JSONL or CSV file; writes JSONL")
    classify.add_argument("input", help="input file, or - for standard input")
    classify.add_argument("--output", "-o", default="-", help="output JSONL file, or - for standard output (default)")
    classify.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="bundle (default: %(default)s)")
    classify.add_argument("--text-field", default="text", help="column holding the text (default: %(default)s)")
    classify.add_argument("--input-format", choices=FORMATS, help="override the format implied by the file name")
    classify.set_defaults(handler=cmd_classify)

    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="bundle (default: %(default)s)")
    serve.set_defaults(handler=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except (BundleError, DataError, InputError, OSError) as error:
        print(f"stance {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

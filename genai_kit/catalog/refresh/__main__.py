"""Command line of the catalog refresh: ``python -m genai_kit.catalog.refresh --help``."""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Sequence
from pathlib import Path

from genai_kit.catalog.errors import CatalogError
from genai_kit.catalog.loader import DEFAULT_ROOT
from genai_kit.catalog.refresh import (
    BucketSource,
    FolderSource,
    SpecSource,
    parse_model_arg,
    refresh,
    refresh_from_extract,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m genai_kit.catalog.refresh",
        description="Regenerate the pinned model catalog from JumpStart specs and the SageMaker SDK image tables.",
    )
    origin = parser.add_mutually_exclusive_group(required=True)
    origin.add_argument("--from-dir", type=Path, metavar="DIR", help="folder in the SDK's local-override layout")
    origin.add_argument("--from-bucket", action="store_true", help="read the live jumpstart-cache-prod-<region> bucket")
    origin.add_argument(
        "--from-gacc-extract",
        type=Path,
        metavar="FILE",
        help="a generative-ai-cdk-constructs catalog extract (JSON rows by key); give the rows with --key",
    )
    parser.add_argument("--key", action="append", metavar="KEY", help="row of the extract to convert (repeatable)")
    parser.add_argument("--region", help="region of the bucket (with --from-bucket)")
    parser.add_argument(
        "--model",
        action="append",
        metavar="ID[@VERSION]",
        help="model to refresh (repeatable; no version = newest); default: every model the catalog holds",
    )
    parser.add_argument(
        "--images-from",
        type=Path,
        metavar="DIR",
        help="folder of SDK image tables (default with --from-dir: DIR/sdk_image_uri_config if present)",
    )
    parser.add_argument("--date", default=datetime.date.today().isoformat(), help="refresh date to record (YYYY-MM-DD)")
    parser.add_argument("--out", type=Path, default=DEFAULT_ROOT, help="catalog folder (default: %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        datetime.date.fromisoformat(args.date)
    except ValueError:
        parser.error(f"--date {args.date!r} is not an ISO date (YYYY-MM-DD)")
    if args.from_gacc_extract:
        if not args.key:
            parser.error("--from-gacc-extract needs --key")
        try:
            written = refresh_from_extract(args.from_gacc_extract, out=args.out, date=args.date, keys=args.key)
        except CatalogError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 2
        sys.stdout.write("".join(f"wrote {path}\n" for path in written))
        return 0
    source: SpecSource
    images_dir: Path | None = args.images_from
    if args.from_bucket:
        if not args.region:
            parser.error("--from-bucket needs --region")
        source = BucketSource(region=args.region)
    else:
        source = FolderSource(root=args.from_dir)
        default_tables = args.from_dir / "sdk_image_uri_config"
        if images_dir is None and default_tables.is_dir():
            images_dir = default_tables
    models = [parse_model_arg(m) for m in args.model] if args.model else None
    try:
        written = refresh(source, out=args.out, date=args.date, models=models, images_dir=images_dir)
    except CatalogError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write("".join(f"wrote {path}\n" for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())

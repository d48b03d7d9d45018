"""The `aicity` command line."""

from __future__ import annotations

import argparse
import sys

from shared.cli import bootstrap, feeds, load, replay, run, score


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="aicity", description="AI City Index tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (score, feeds, load, replay, run, bootstrap):
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, OSError) as exc:
        print(f"aicity: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

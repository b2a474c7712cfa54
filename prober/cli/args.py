"""Argument parsing shared by the commands: argparse's bad usage is exit 3 here, and typed values."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from prober.exits import Exit

if TYPE_CHECKING:
    from prober.budget import Budget
    from prober.shard import Shard

EXIT_INPUT = int(Exit.INPUT)


class Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage; 2 means 'the gate failed' here, so bad usage is 3."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


def typed(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a converter that raises ValueError with a message."""

    def parse(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def duration(text: str) -> float:
    from prober.inventory.fields import duration as convert

    return convert(text)


def max_fail(text: str) -> Budget:
    from prober import budget  # fractions, dataclasses: not for `prober --version`

    return budget.parse(text)


def whole(text: str, low: int, high: int) -> int:
    if not text.strip().isascii() or not text.strip().isdigit():
        raise ValueError(f"expected a whole number, got {text!r}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"must be between {low} and {high}, got {value}")
    return value


def positive(text: str) -> int:
    return whole(text, 1, 1_000_000)


def retries(text: str) -> int:
    return whole(text, 0, 10)


def add_annotations(parser: argparse.ArgumentParser) -> None:
    """--annotations, the same on every command that writes CI outputs (sweep, report, merge)."""
    parser.add_argument(
        "--annotations",
        choices=("auto", "github", "none"),
        default="auto",
        help="GitHub Actions annotations on stderr (auto: when GITHUB_ACTIONS=true)",
    )


LIMIT_HELP = "only these hosts: groups, hosts, globs, Ansible patterns (web:&prod:!web03, ~regex, @file)"


def limit(text: str) -> list[str]:
    """Comma-separated Ansible host patterns (prober.limit); `:` separates them too, inside an item."""
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise ValueError(f"expected group or host names (globs allowed) separated by commas, got {text!r}")
    return items


def shard(text: str) -> Shard:
    from prober.shard import parse

    return parse(text)


def add_shard(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shard",
        type=typed(shard),
        metavar="I/N",
        help="only the hosts of shard I of N (from 0), by rendezvous hashing of host names; auto/N reads "
        "I from $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); lines carry shard and plan_fingerprint",
    )

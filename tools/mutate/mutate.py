"""`make mutate`: mutation testing of prober's core modules; the kill rate per module, every survivor.

mutmut 3 copies prober/ into mutants/ with every mutant of every function behind a switch, learns once
which tests reach each function (in the test process, and in the `python -m prober` children they
start: see mutate_hits.py), then runs each mutant, in a forked worker, against those of its module's
tests below that reach its function. Results are kept in mutants/: `--resume` re-tests only what
changed since, `.venv/bin/mutmut show NAME` prints one mutant, `mutmut apply NAME` writes it to disk.
Survivors judged equivalent are listed, each with its reason, in equivalent.txt.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import os
import re
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TARGET = 90.0  # % of mutants killed that we hold on every module below (README, "Development")

# Module (glob) → the tests about it, run in the test process or through the CLI (paths that do not
# exist yet are skipped). A mutant runs those of them that reached its function; a survivor runs them
# all, so a module's list bounds the run time: the whole of tests/cli is ~100 s per survivor. A module
# that joins the core gets a line.
MODULES: dict[str, tuple[str, ...]] = {
    "prober/runtime/engine.py": (
        "tests/engine",
        "tests/engine/test_engine_stop.py",
        "tests/cli/test_signals.py",
        "tests/probes/test_records.py",
        "tests/probes/test_hostile_sweep.py",
        "tests/ssh/test_hostile.py",
        "tests/secrets/test_engine_masks.py",
    ),
    # Masking (what a probe's record may quote) and redaction (what it shows of what it sent).
    "prober/masking.py": ("tests/secrets",),
    "prober/redact.py": ("tests/secrets",),
    "prober/classify.py": (
        "tests/probes/test_classify.py",
        "tests/probes/test_https.py",  # certificate failures from a real handshake
        "tests/ssh/test_classify_ssh.py",
        "tests/netns",
        "tests/probes/test_hostile_sweep.py",
        "tests/secrets/test_redact.py",
    ),
    "prober/templating.py": (
        "tests/inventory/test_templated_urls.py",
        "tests/inventory/test_security.py",
        "tests/inventory/test_plan.py",
        "tests/inventory/test_bad_input.py",  # validate's words for an unknown variable
        "tests/ssh/test_inventory.py",
    ),
    "prober/authority.py": ("tests/inventory/test_templated_urls.py", "tests/inventory/test_security.py"),
    # The JSONL sink, its writer thread (backpressure) and the cut that keeps a line under 4096 bytes.
    "prober/sinks/jsonl.py": (
        "tests/sinks/test_jsonl_sink.py",
        "tests/sinks/test_sink_bounds.py",
        "tests/cli/test_write_errors.py",
        "tests/sinks/test_fit.py",
        "tests/engine/test_engine_output.py",
    ),
    "prober/sinks/writer.py": (
        "tests/sinks/test_jsonl_sink.py",
        "tests/sinks/test_sink_bounds.py",
        "tests/cli/test_write_errors.py",
        "tests/engine/test_engine_output.py",  # backpressure: the engine waits on room()
    ),
    "prober/sinks/fit.py": ("tests/sinks/test_fit.py", "tests/sinks/test_jsonl_sink.py"),
    # The gate's fan-out, the summary and the budgets behind the exit code.
    "prober/sinks/base.py": ("tests/gate/test_fanout.py", "tests/cli/test_write_errors.py"),
    "prober/sinks/summary.py": ("tests/sinks/test_summary.py", "tests/cli/test_exit_codes.py"),
    "prober/sinks/gate.py": (
        "tests/gate/test_gate_sink.py",
        "tests/gate/test_budgets.py",
        "tests/sinks/test_summary.py",
        "tests/cli/test_exit_codes.py",
    ),
    "prober/probes/ssh/checks/*.py": (
        "tests/ssh/test_checks.py",
        "tests/ssh/test_disk.py",
        "tests/ssh/test_batch.py",
        "tests/ssh/test_budgets.py",
    ),
    "prober/runtime/signals.py": (
        "tests/cli/test_stop_signals.py",
        "tests/cli/test_signals.py",
        "tests/cli/test_prepare_signals.py",
        "tests/engine/test_engine_stop.py",
        "tests/workers/test_workers.py",
    ),
}

DETECTED = {"killed", "timeout"}  # a hang counts: pytest-timeout or mutmut's own limit stopped it
# Survivors no input can tell apart from the code, one a line: "mutant-name  reason" (# comments).
EQUIVALENT = HERE / "equivalent.txt"


def equivalents() -> dict[str, str]:
    """{mutant name: why it is equivalent} from EQUIVALENT."""
    found: dict[str, str] = {}
    for line in EQUIVALENT.read_text().splitlines() if EQUIVALENT.exists() else ():
        name, _, reason = line.partition("#")[0].strip().partition(" ")
        if name:
            found[name] = reason.strip()
    return found


def selected_modules(patterns: list[str]) -> dict[str, tuple[str, ...]]:
    """MODULES expanded to files (`patterns` narrow it, e.g. prober/masking.py or 'prober/sinks/*')."""
    chosen: dict[str, tuple[str, ...]] = {}
    for pattern, tests in MODULES.items():
        for path in sorted(ROOT.glob(pattern)):
            name = path.relative_to(ROOT).as_posix()
            if path.name == "__init__.py" and not path.read_text().strip():
                continue
            if not patterns or any(fnmatch.fnmatch(name, p) for p in patterns):
                chosen[name] = tuple(t for t in tests if (ROOT / t).exists())
    return chosen


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def configure(modules: dict[str, tuple[str, ...]], debug: bool) -> None:
    """mutmut's settings for this run: pyproject's [tool.mutmut], plus these modules and their tests."""
    from mutmut.configuration import config

    cfg = config()
    cfg.debug = debug
    cfg.only_mutate = list(modules)
    cfg.pytest_add_cli_args_test_selection = sorted({t for tests in modules.values() for t in tests})
    cfg.pytest_add_cli_args = [*cfg.pytest_add_cli_args, "-p", "mutate_hits"]


def keep_module_tests(modules: dict[str, tuple[str, ...]]) -> Callable[..., Any]:
    """Wrap mutmut's stats loading: each function keeps only the tests listed for its module."""
    import mutmut.__main__ as cli
    from mutmut.state import state
    from mutmut.utils.format_utils import get_module_from_key

    allowed = {module_name(path): tests for path, tests in modules.items()}
    original = cli.collect_or_load_stats

    def listed(test_id: str, tests: tuple[str, ...]) -> bool:
        file = test_id.split("::", 1)[0]
        return any(file == t or file.startswith(t.rstrip("/") + "/") for t in tests)

    def collect_or_load_stats(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        by_function = state().tests_by_mangled_function_name
        for function, test_ids in by_function.items():
            tests = allowed.get(get_module_from_key(function), ())
            by_function[function] = {t for t in test_ids if listed(t, tests)}

    cli.collect_or_load_stats = collect_or_load_stats
    return original


def retest_survivors() -> None:
    """With --resume, survivors and untested mutants run again: the tests may have changed since."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files

    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for key, code in data.exit_code_by_key.items():
            if status_by_exit_code[code] not in DETECTED:
                data.exit_code_by_key[key] = None
        if data.exit_code_by_key:
            data.save()


def run_mutmut(modules: dict[str, tuple[str, ...]], max_children: int, debug: bool) -> None:
    import mutmut.__main__ as cli

    hits = tempfile.mkdtemp(prefix="prober-mutate-hits-")
    os.environ["PROBER_MUTATE_HITS"] = hits
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    configure(modules, debug)
    keep_module_tests(modules)
    try:
        for attempt in (1, 2):
            try:
                cli._run((), max_children)
                return
            except SystemExit as exc:  # mutmut exits when the unmutated tests fail (stats or clean run)
                if not exc.code or attempt == 2:
                    raise
                # Timing tests can still lose to a saturated machine; a real failure fails twice.
                print("\nThe unmutated tests failed (--debug shows pytest's output); trying once more.")
    finally:
        shutil.rmtree(hits, ignore_errors=True)


def function_span(path: str, function: str, cls: str | None) -> tuple[int, int]:
    """First and last line of `function` (a method of `cls`, if given) in the source file `path`."""
    tree = ast.parse((ROOT / path).read_text())
    scope = tree.body
    if cls is not None:
        scope = next((n.body for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls), [])
    for node in scope:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function:
            return node.lineno, node.end_lineno or node.lineno
    return 1, len((ROOT / path).read_text().splitlines())


def first_removed(diff: str) -> tuple[int, str] | None:
    """(line within the function's text, text) of the first line the mutant changes."""
    old = 0
    for line in diff.splitlines()[2:]:  # after the ---/+++ header
        if match := re.match(r"@@ -(\d+)", line):
            old = int(match.group(1))
        elif line.startswith("-"):
            return old, line[1:]
        elif not line.startswith("+"):
            old += 1
    return None


def source_line(path: str, mutant: str, diff: str) -> int:
    """The line of `path` that the mutant changes."""
    from mutmut.utils.format_utils import orig_function_and_class_names_from_key

    start, end = function_span(path, *orig_function_and_class_names_from_key(mutant))
    removed = first_removed(diff)
    if removed is None:
        return start
    guess, text = start + removed[0] - 1, removed[1].strip()
    lines = (ROOT / path).read_text().splitlines()
    matches = [n for n in range(start, end + 1) if lines[n - 1].strip() == text]
    return min(matches, key=lambda n: abs(n - guess)) if matches else guess


def results(modules: dict[str, tuple[str, ...]]) -> dict[str, dict[str, int | None]]:
    """{module path: {mutant name: exit code}} from mutants/."""
    from mutmut.mutation.data import SourceFileMutationData

    found: dict[str, dict[str, int | None]] = {}
    for path in modules:
        data = SourceFileMutationData(path=path)
        data.load()
        found[path] = dict(data.exit_code_by_key)
    return found


def tally(codes: dict[str, int | None], equivalent: dict[str, str]) -> Counter[str]:
    """mutants, killed, timeout (a hang: detected too), survived, equivalent (a survivor listed in
    EQUIVALENT), no tests, other (not run, crashed, suspicious)."""
    from mutmut.stats import status_by_exit_code

    named = {name: status_by_exit_code[code] for name, code in codes.items()}
    status = Counter("equivalent" if s == "survived" and n in equivalent else s for n, s in named.items())
    counts = Counter(mutants=len(codes))
    counts.update({k: status[k] for k in ("killed", "timeout", "survived", "equivalent", "no tests")})
    counts["other"] = len(codes) - sum(counts[k] for k in COLUMNS[1:-1])
    return counts


def kill_rate(counts: Counter[str]) -> float:
    """% of the mutants that are not equivalent that a test detected (killed or timed out)."""
    real = counts["mutants"] - counts["equivalent"]
    return 100.0 * (counts["killed"] + counts["timeout"]) / real if real else 100.0


def unmutated(path: str) -> str:
    """What mutmut 3 leaves alone in `path`: decorated functions and module-level constants."""
    tree = ast.parse((ROOT / path).read_text())
    scopes = [tree.body] + [n.body for n in tree.body if isinstance(n, ast.ClassDef)]
    plain = {"staticmethod", "classmethod"}
    decorated = [
        node.name
        for scope in scopes
        for node in scope
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(not (isinstance(d, ast.Name) and d.id in plain) for d in node.decorator_list)
    ]
    constants = sum(isinstance(node, ast.Assign | ast.AnnAssign) for node in tree.body)
    parts = [f"{constants} module-level assignment" + "s" * (constants > 1)] if constants else []
    if decorated:
        parts.insert(0, "decorated " + ", ".join(decorated))
    return "; ".join(parts)


def table_row(name: str, counts: Counter[str]) -> str:
    rate = kill_rate(counts)
    cells = "".join(f"{counts[k]:>11}" for k in COLUMNS)
    flag = "" if rate >= TARGET else f"   (under {TARGET:g} %)"
    return f"{name:34}{cells}   {rate:5.1f} %{flag}"


COLUMNS = ("mutants", "killed", "timeout", "survived", "equivalent", "no tests", "other")


def report(modules: dict[str, tuple[str, ...]]) -> bool:
    """Print the kill rate per module and every survivor; True when every module holds TARGET."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    by_module = results(modules)
    equivalent = equivalents()
    print(f"\n{'module':34}" + "".join(f"{k:>11}" for k in COLUMNS) + "   kill rate")
    total: Counter[str] = Counter()
    held = True
    for path, codes in by_module.items():
        if not codes:
            continue  # nothing to mutate (a package's __init__ with only imports and constants)
        counts = tally(codes, equivalent)
        total.update(counts)
        held &= kill_rate(counts) >= TARGET
        print(table_row(path, counts))
    print(table_row("total", total))
    print("\nNot mutated (mutmut 3 mutates function bodies only; literal tests pin these):")
    for path in by_module:
        if skipped := unmutated(path):
            print(f"  {path}: {skipped}")
    for path, codes in by_module.items():
        for name, code in codes.items():
            if status_by_exit_code[code] in DETECTED:
                continue
            diff = get_diff_for_mutant(name, path=path)
            where = f"{path}:{source_line(path, name, diff)}"
            if name in equivalent:
                print(f"\n{where}: equivalent ({name}): {equivalent[name]}")
                continue
            print(f"\n{where}: {status_by_exit_code[code]} ({name})")
            print("\n".join(line for line in diff.splitlines()[2:] if not line.startswith("@@")))
    return held


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="only these module paths (globs), e.g. prober/masking.py")
    parser.add_argument("--resume", action="store_true", help="keep mutants/ and re-test only what changed")
    parser.add_argument("--report", action="store_true", help="print the last results, run nothing")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2, help="parallel mutants")
    parser.add_argument("--debug", action="store_true", help="show pytest's output (a failing clean run)")
    args = parser.parse_args()
    os.chdir(ROOT)
    modules = selected_modules(args.modules)
    if not modules:
        parser.error(f"no module of MODULES matches {args.modules}")
    if not args.report:
        if not args.resume:
            shutil.rmtree(ROOT / "mutants", ignore_errors=True)
        elif (ROOT / "mutants").exists():
            retest_survivors()
        run_mutmut(modules, args.max_children, args.debug)
    return 0 if report(modules) else 1


if __name__ == "__main__":
    sys.exit(main())

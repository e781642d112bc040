"""Print one reliability table: hostile parser inputs and the fault matrix of live crawls.

    .venv/bin/python tests/benchmarks/reliability_report.py [--seeds 1,2,3,4,5]
        [--rates 0.1,0.3,0.5] [--posts 80] [--workers 2] [--examples 200]
        [--skip-hostile] [--skip-matrix] [--json PATH]

1. Hostile inputs (tests/hostile.py, if present): every hand-made case of every parser,
   each run in a forked child with a time limit, plus `--examples` Hypothesis-generated
   inputs per parser (derandomized; at least 2,000 inputs in all). Each input is classified
   "post", "rejected:<reason>", "error:<class>", "garbage:<defect>" or "crash:<exception>".
2. The fault matrix (tests/fault_matrix.py): for each seed and fault rate, a local
   Medium-like site on 127.0.0.1 fails that share of its requests (503, 429 with
   Retry-After, reset, timeout, truncated body); the real CLI crawls it, and runs again
   while it exits 4 (partial). Every run's archive is compared with the expected posts.

Exits 1 if any input crashed or gave garbage, or any cell lost, mangled or duplicated a
post, exited other than 0 or 4, or never completed; else 0.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import mean

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from fault_matrix import (  # noqa: E402
    EXIT_OK,
    EXIT_PARTIAL,
    PAGE_SIZE,
    POSTS,
    RETRY_TIMES,
    run_cell,
)

MIN_INPUTS = 2000
CASE_SECONDS = 5.0  # time limit of one hand-made case once its input is built
EXAMPLE_SECONDS = 5  # time limit of one generated input
NOTES = 15  # bad outcomes listed in the table


# Hostile inputs -------------------------------------------------------------------------------


def load_hostile():
    """tests/hostile.py, or (None, why it cannot be used)."""
    try:
        import hostile
    except ModuleNotFoundError as error:
        if error.name == "hostile":
            return None, "tests/hostile.py not found"
        return None, f"tests/hostile.py cannot be imported: {error}"
    except Exception as error:  # a module being written may be broken for a while
        return None, f"tests/hostile.py cannot be imported: {type(error).__name__}: {error}"
    missing = [name for name in ("PARSERS", "CASES", "classify") if not hasattr(hostile, name)]
    if missing:
        return None, f"tests/hostile.py lacks {', '.join(missing)}"
    return hostile, None


def is_bad(outcome: str) -> bool:
    """Every input must give "post", "rejected:..." or "error:...", never these."""
    return outcome.startswith(("crash:", "garbage:"))


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def classify_guarded(hostile, parser: str, data) -> str:
    """`hostile.classify` with a time limit (SIGALRM); a failure of classify itself counts
    as a crash too."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(EXAMPLE_SECONDS)
    try:
        return hostile.classify(parser, data)
    except _Timeout:
        return "crash:timeout"
    except Exception as error:
        return f"crash:classify raised {type(error).__name__}: {error}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def hand_made(hostile, parser: str) -> tuple[Counter, dict[str, str]]:
    """Outcomes of every hand-made case of `parser`, and a case for each bad outcome."""
    outcomes: Counter = Counter()
    examples: dict[str, str] = {}
    bounded = getattr(hostile, "classify_bounded", None)
    for name, data in hostile.CASES[parser]():
        if bounded is not None:
            outcome = bounded(parser, data, CASE_SECONDS).outcome
        else:
            outcome = classify_guarded(hostile, parser, data)
        outcomes[outcome] += 1
        if is_bad(outcome):
            examples.setdefault(f"{parser} {outcome}", name)
    return outcomes, examples


def generated(hostile, parser: str, count: int) -> Counter:
    """Outcomes of `count` Hypothesis-generated inputs for `parser` (deterministic)."""
    from hypothesis import HealthCheck, Phase, given, settings

    strategies = getattr(hostile, "STRATEGIES", {})
    if parser not in strategies or count <= 0:
        return Counter()
    outcomes: Counter = Counter()

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategies[parser]())
    def sample(data) -> None:
        outcomes[classify_guarded(hostile, parser, data)] += 1

    sample()
    return outcomes


def run_hostile(examples: int | None) -> dict:
    hostile, skipped = load_hostile()
    if hostile is None:
        return {"skipped": skipped}
    started = time.monotonic()
    parsers = list(hostile.PARSERS)
    outcomes: Counter = Counter()
    # Bad outcomes by parser: how many inputs, and a hand-made case that gave it.
    bad: Counter = Counter()
    named: dict[str, str] = {}
    made = 0
    for parser in parsers:
        found, cases = hand_made(hostile, parser)
        outcomes += found
        made += sum(found.values())
        named.update(cases)
        bad.update({f"{parser} {o}": n for o, n in found.items() if is_bad(o)})
    if examples is None:  # enough generated inputs for MIN_INPUTS in all
        examples = max(200, math.ceil((MIN_INPUTS - made) / max(1, len(parsers))))
    generated_count = 0
    for parser in parsers:
        found = generated(hostile, parser, examples)
        outcomes += found
        generated_count += sum(found.values())
        bad.update({f"{parser} {o}": n for o, n in found.items() if is_bad(o)})
    return {
        "skipped": None,
        "parsers": parsers,
        "hand_made": made,
        "generated": generated_count,
        "outcomes": dict(outcomes),
        # Crashes first, then garbage, most frequent first.
        "bad": [
            {"outcome": key, "inputs": n, "example": named.get(key, "(generated)")}
            for key, n in sorted(bad.items(), key=lambda kv: (" garbage:" in kv[0], -kv[1]))
        ],
        "seconds": round(time.monotonic() - started, 1),
    }


# The fault matrix -----------------------------------------------------------------------------


def run_matrix(seeds, rates, posts, workers, retry_times, page_size) -> dict:
    started = time.monotonic()
    cells = [(seed, rate) for rate in rates for seed in seeds]
    with (
        tempfile.TemporaryDirectory(prefix="fault-matrix-") as folder,
        ThreadPoolExecutor(workers) as pool,
    ):
        futures = [
            pool.submit(
                run_cell,
                seed,
                rate,
                posts,
                Path(folder) / f"seed{seed}",
                retry_times=retry_times,
                page_size=page_size,
            )
            for seed, rate in cells
        ]
        results = [future.result() for future in futures]
    return {"cells": results, "seconds": round(time.monotonic() - started, 1)}


def crashed(run: dict) -> bool:
    """A traceback, a run that hung and was killed, or one that died of a signal."""
    code = run["exit_code"]
    return run["traceback"] or code is None or code < 0


# The table ------------------------------------------------------------------------------------


def table(hostile: dict | None, matrix: dict | None, args) -> tuple[list[tuple], bool]:
    """Rows of (check, value, must be), and whether everything is as it must be."""
    rows: list[tuple[str, str, str]] = []
    good = True

    def row(check: str, value, must: str = "", bad: bool = False) -> None:
        nonlocal good
        good &= not bad
        rows.append((check, str(value), must + ("   <-- FAIL" if bad else "")))

    if hostile is None:
        row("hostile inputs", "not run (--skip-hostile)")
    elif hostile["skipped"]:
        row("hostile inputs", f"skipped: {hostile['skipped']}")
    else:
        outcomes = Counter(hostile["outcomes"])
        tried = sum(outcomes.values())
        kinds = Counter()
        for outcome, count in outcomes.items():
            kinds[outcome.split(":", 1)[0]] += count
        row(
            f"hostile inputs tried ({len(hostile['parsers'])} parsers: "
            f"{hostile['hand_made']} hand-made + {hostile['generated']} generated)",
            tried,
            f">= {MIN_INPUTS}",
            tried < MIN_INPUTS,
        )
        row("  parsed into posts", kinds["post"])
        row("  rejected, all reasons", kinds["rejected"])
        for outcome, count in sorted(outcomes.items(), key=lambda item: (-item[1], item[0])):
            if outcome.startswith("rejected:"):
                row(f"    rejected: {outcome.split(':', 1)[1]}", count)
        for outcome, count in sorted(outcomes.items(), key=lambda item: (-item[1], item[0])):
            if outcome.startswith("error:"):
                row(f"  documented error: {outcome.split(':', 1)[1]}", count)
        row("  garbage (bad post passed validation)", kinds["garbage"], "0", kinds["garbage"] > 0)
        row("  crashes", kinds["crash"], "0", kinds["crash"] > 0)
        for entry in hostile["bad"][:NOTES]:
            row(f"    {entry['outcome'][:64]} (e.g. {entry['example'][:30]})", entry["inputs"])
        if len(hostile["bad"]) > NOTES:
            rest = hostile["bad"][NOTES:]
            row(f"    ... {len(rest)} other outcomes", sum(e["inputs"] for e in rest))
        row("  wall time", f"{hostile['seconds']:.0f} s")

    if matrix is None:
        row("fault matrix", "not run (--skip-matrix)")
        return rows, good
    cells = matrix["cells"]
    runs = [run for cell in cells for run in cell["runs"]]
    finals = [cell["runs"][-1] for cell in cells]
    row(
        f"fault matrix cells ({len(args.seeds)} seeds x {len(args.rates)} rates, "
        f"{args.posts} posts, RETRY_TIMES={args.retry_times}, page {args.page_size})",
        len(cells),
    )
    row("  posts expected (all cells)", sum(cell["expected"] for cell in cells))
    lost = sum(run["lost"] for run in finals)
    row("  posts lost (after the last run)", lost, "0", lost > 0)
    wrong = sum(run["wrong"] for run in finals)
    unexpected = sum(run["unexpected"] for run in finals)
    row("  posts with a wrong field / unexpected", f"{wrong} / {unexpected}", "0 / 0",
        wrong + unexpected > 0)  # fmt: skip
    duplicates = sum(run["duplicates"] for run in runs)
    row("  duplicates (rows - distinct ids, every run)", duplicates, "0", duplicates > 0)
    same_url = sum(run["duplicate_urls"] for run in runs)
    row("  duplicates (rows - distinct URLs, every run)", same_url, "0", same_url > 0)
    crashes = sum(crashed(run) for run in runs)
    row("  crashes (traceback, hung, killed)", crashes, "0", crashes > 0)
    strange = [
        f"seed {cell['seed']} {cell['rate']:.0%} run {number}: exit {run['exit_code']}"
        for cell in cells
        for number, run in enumerate(cell["runs"], 1)
        if run["exit_code"] not in (EXIT_OK, EXIT_PARTIAL) and not crashed(run)
    ]
    row("  runs exiting other than 0 or 4", len(strange), "0", bool(strange))
    for note in strange[:10]:
        row(f"    {note}", "")
    for rate in args.rates:
        at_rate = [cell for cell in cells if cell["rate"] == rate]
        first = sum(cell["completed_on"] == 1 for cell in at_rate)
        later = sum((cell["completed_on"] or 0) > 1 for cell in at_rate)
        never = sum(cell["completed_on"] is None for cell in at_rate)
        partial_ok = all(
            code == EXIT_PARTIAL for cell in at_rate for code in cell["exit_codes"][:-1]
        )
        row(
            f"  fault {rate:.0%}: completed on run 1 / after re-run / never",
            f"{first} / {later} / {never}",
            f"never 0{'' if partial_ok else ', re-runs after 4 only'}",
            never > 0 or not partial_ok,
        )
        codes = Counter(code for cell in at_rate for code in cell["exit_codes"])
        seen = ", ".join(f"{code}x{n}" for code, n in sorted(codes.items(), key=str))
        row(f"  fault {rate:.0%}: runs, exit codes seen", f"{sum(codes.values())}: {seen}")
        row(
            f"  fault {rate:.0%}: mean wall time per cell (per run)",
            f"{mean(cell['seconds'] for cell in at_rate):.1f} s "
            f"({mean(run['seconds'] for cell in at_rate for run in cell['runs']):.1f} s)",
        )
    row("  wall time", f"{matrix['seconds']:.0f} s ({args.workers} cells at a time)")
    return rows, good


def print_table(rows: list[tuple[str, str, str]]) -> None:
    header = ("check", "value", "must be")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]

    def line(cells) -> str:
        return "  ".join(text.ljust(width) for text, width in zip(cells, widths, strict=True))

    print(line(header).rstrip())
    print(line("-" * width for width in widths))
    for r in rows:
        print(line(r).rstrip())


def numbers(kind):
    def parse(text: str):
        try:
            return [kind(part) for part in text.split(",") if part.strip()]
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from error

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=numbers(int), default=[1, 2, 3, 4, 5])
    parser.add_argument("--rates", type=numbers(float), default=[0.1, 0.3, 0.5])
    parser.add_argument("--posts", type=int, default=POSTS, help="posts per site")
    parser.add_argument("--workers", type=int, default=2, help="cells run at a time")
    parser.add_argument("--retry-times", type=int, default=RETRY_TIMES)
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE)
    parser.add_argument(
        "--examples",
        type=int,
        default=None,
        help=f"generated inputs per parser (default: enough for {MIN_INPUTS} inputs, >= 200)",
    )
    parser.add_argument("--skip-hostile", action="store_true")
    parser.add_argument("--skip-matrix", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    if any(not 0 <= rate <= 1 for rate in args.rates):
        parser.error("--rates must lie between 0 and 1")

    # Hostile cases fork children: run them before the matrix starts its server threads.
    hostile = None
    if not args.skip_hostile:
        try:
            hostile = run_hostile(args.examples)
        except Exception as error:
            traceback.print_exc()
            hostile = {"skipped": f"failed to run: {type(error).__name__}: {error}"[:100]}
    matrix = None
    if not args.skip_matrix:
        matrix = run_matrix(
            args.seeds, args.rates, args.posts, args.workers, args.retry_times, args.page_size
        )
    rows, good = table(hostile, matrix, args)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps({"hostile": hostile, "matrix": matrix}, indent=2))
    if hostile and (hostile.get("skipped") or "").startswith("failed to run"):
        good = False
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())

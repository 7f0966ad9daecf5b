"""``monge bench``: the side-by-side benchmarks of ``benchmarks/run.py``, written to a run folder.

The benchmarks live in the repository, outside the package: this command finds them next to the
package source (``src/monge/../../benchmarks``), so it needs a source checkout installed editable.
The run folder (``--out DIR`` or ``runs/bench-<time>/``) receives ``config.json``, ``results.json``
(every timing), ``metrics.jsonl`` (one line per case), ``tables.md`` and ``summary.json`` (the
ratios per case and the issue's targets, met or not); with ``--quiet``, ``output.log``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from monge.errors import InputError
from monge.runs import Run, atomic_write

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "run.py"


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to an ``argparse`` subparsers object."""
    parser = subparsers.add_parser(
        "bench", help="time exact transport against scipy, lap and POT, side by side",
        description="Run the repository's benchmarks (benchmarks/run.py) side by side with their anchors; "
                    "write the timings, tables and targets to a run folder. Needs a source checkout.")
    parser.add_argument("--quick", action="store_true", help="smallest sizes, 1 repeat (a smoke test)")
    parser.add_argument("--suite", action="append", metavar="NAME",
                        help="run only this suite of benchmarks/run.py, e.g. matching (repeatable; None: all)")
    parser.add_argument("--repeats", type=int, help="timed runs per contender; None: 3, or 1 with --quick")
    parser.add_argument("--out", metavar="DIR", help="run folder; None: runs/bench-<YYYYmmdd-HHMMSS>/")
    parser.add_argument("--seed", metavar="N", type=int, default=0, help="seed of the random points")
    parser.add_argument("--quiet", action="store_true", help="no progress on screen; it goes to output.log")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``benchmarks/run.py`` with this Python into a run folder; 2 without a source checkout."""
    if not SCRIPT.is_file():
        print(f"monge bench: error: no benchmarks at {SCRIPT.parent}: they ship with the source repository, "
              "so install a checkout with `pip install -e .`", file=sys.stderr)
        return 2
    if args.seed < 0:
        raise InputError(f"seed (--seed): {args.seed}; expected a non-negative integer")
    if args.repeats is not None and args.repeats < 1:
        raise InputError(f"repeats (--repeats): {args.repeats}; expected a positive integer")
    cmd = [sys.executable, str(SCRIPT), "--seed", str(args.seed), *["--quick"] * args.quick,
           *[a for s in args.suite or [] for a in ("--suite", s)],
           *(["--repeats", str(args.repeats)] if args.repeats else []), *["--quiet"] * args.quiet]
    config = {"quick": args.quick, "suites": args.suite or "all",
              "repeats": args.repeats or (1 if args.quick else 3), "seed": args.seed, "script": str(SCRIPT),
              "python": sys.executable}
    folder = Run.create("bench", config, out=args.out, quiet=args.quiet)
    cmd += ["--out", str(folder.path / "results.json")]
    if args.quiet:
        with open(folder.path / "output.log", "w") as log:
            code = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
    else:
        code = subprocess.run(cmd).returncode
    if code != 0:
        print(f"monge bench: error: benchmarks/run.py failed with exit code {code}", file=sys.stderr)
        return code
    results = json.loads((folder.path / "results.json").read_text())
    records = [r for suite in results["results"].values() for r in suite]
    for record in records:
        folder.log(**record)
    with atomic_write(folder.path / "tables.md") as fh:
        fh.write((results["markdown"] + "\n").encode())
    targets = results["targets"]
    folder.write_summary({
        "machine": results["machine"], "settings": results["settings"], "targets": targets,
        "all_targets_met": all(t["met"] for suite in targets.values() for t in suite),
        "cases": [{k: v for k, v in r.items() if k != "stats"} for r in records]})
    folder.echo(f"wrote {folder.path}/ (summary.json, tables.md, results.json)")
    return 0

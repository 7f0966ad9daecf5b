"""Side-by-side benchmarks of monge's exact transport against its anchors (``make bench``).

    .venv/bin/python benchmarks/run.py [--quick] [--suite NAME ...] [--repeats N] [--out FILE.json]

Every case runs in a fresh Python process (``--case``, internal), which warms each contender up on
a tiny problem and then times them alternately. A row is printed as each case finishes; at the end,
Markdown tables (times in seconds: median [min-max]), peak memory and the issue's targets.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import harness  # noqa: E402
import suite_batched  # noqa: E402
import suite_kantorovich  # noqa: E402
import suite_matching  # noqa: E402
import suite_meanfield  # noqa: E402
import suite_sinkhorn  # noqa: E402
import suite_sliced  # noqa: E402
import suite_sparse  # noqa: E402
import suite_sparse_weighted  # noqa: E402
import suite_training  # noqa: E402

SUITES = {m.NAME: m for m in (suite_matching, suite_sparse, suite_sparse_weighted, suite_kantorovich, suite_batched,
                              suite_sinkhorn, suite_sliced, suite_training, suite_meanfield)}
# With --wait-idle, a case during which other processes took more of the CPU than this is run again.
BUSY = 0.10


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smallest sizes, 1 repeat (a smoke test)")
    parser.add_argument("--suite", action="append", choices=sorted(SUITES),
                        help="run only this suite (repeatable; default: all)")
    parser.add_argument("--repeats", type=int, help="timed runs per contender (default 3, 1 with --quick)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random points (default 0)")
    parser.add_argument("--threads", type=int, help="torch threads in each case (default: torch's)")
    parser.add_argument("--out", type=Path, help="write every record, the tables and the targets to this JSON")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                        help="before each case, wait up to this long for other processes to leave the CPU; "
                             "run a case again if they took over 10%% of it meanwhile")
    parser.add_argument("--case", choices=sorted(SUITES),
                        help="run one case of this suite in this process and print its JSON record")
    parser.add_argument("--params", type=json.loads, default={},
                        help="""the case for --case, as JSON, e.g. '{"n": 3000, "d": 4}'""")
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats: expected at least 1")
    return args


def label(params: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())


def run_one_case(args: argparse.Namespace) -> int:
    """Child process: run one case, print its record as the last line of stdout."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    name = f"{args.case} {label(args.params)}"
    progress = None if args.quiet else (lambda msg: print(f"    [{name}] {msg}", file=sys.stderr, flush=True))
    before = harness.cpu_snapshot()
    record = SUITES[args.case].run_case(args.params, args.repeats, args.seed, progress)
    record["torch_threads"] = torch.get_num_threads()
    record["others_cpu"] = harness.others_cpu(before, harness.cpu_snapshot())
    record["transport_sha1"] = harness.source_state()["transport_sha1"]
    print(json.dumps(record))
    return 0


def run_isolated(args: argparse.Namespace, suite: str, params: dict, repeats: int, say) -> dict:
    """One case in a fresh process. With ``--wait-idle``, wait for an idle CPU first, and run the
    case again (twice at most) if other processes took more than 10% of the CPU meanwhile."""
    extra = ("--threads", str(args.threads)) if args.threads else ()
    for attempt in range(3 if args.wait_idle > 0 else 1):
        if args.wait_idle > 0:
            harness.wait_until_idle(args.wait_idle, say=say)
        record = harness.in_subprocess(HERE / "run.py", suite, params, repeats, args.seed, not args.quiet, extra)
        busy = record.get("others_cpu")
        if args.wait_idle <= 0 or busy is None or busy <= BUSY:
            break
        say(f"    (other processes took {100 * busy:.0f}% of the CPU during {label(params)}: "
            f"{'running it again' if attempt < 2 else 'keeping it'})")
    return record


def memory_table(records: list[dict]) -> str:
    """Peak RSS over the RSS before each call (MiB, median over runs) per contender; others' CPU use."""
    names = list(dict.fromkeys(name for r in records for name in r["stats"]))
    rows = []
    for r in records:
        cells = []
        for name in names:
            mib = r["stats"].get(name, {}).get("rss_extra_mib")
            cells.append("-" if mib is None else f"{mib:.0f}")
        others = r.get("others_cpu")
        rows.append([label(r["params"]), *cells, "-" if others is None else f"{100 * others:.0f}%"])
    return harness.markdown_table(["case", *names, "CPU used by other processes"], rows)


def report(machine: dict, settings: dict, results: dict[str, list[dict]]) -> tuple[str, dict]:
    """The Markdown report and the targets, ``{suite: [(text, met), ...]}``."""
    v, src = machine["versions"], settings.get("source", {"commit": "?", "uncommitted_changes": None,
                                                          "transport_sha1": "?"})
    lines = [f"Machine: {machine['cpu']}, {machine['cores']} cores, torch threads {settings['threads']}; "
             f"Python {machine['python']}, torch {v['torch']}, numpy {v['numpy']}, scipy {v['scipy']}, "
             f"POT {v['POT']}, lap {v['lap']}. Repeats {settings['repeats']}, seed {settings['seed']}. "
             f"monge at commit {src['commit']}{' with uncommitted changes' if src['uncommitted_changes'] else ''} "
             f"(transport sources {src['transport_sha1']}). Times in seconds: median [min-max]."]
    changed = [label(r["params"]) for rs in results.values() for r in rs
               if r.get("transport_sha1", src["transport_sha1"]) != src["transport_sha1"]]
    if changed:
        lines.append(f"WARNING: the transport sources changed during the run (cases {', '.join(changed)}).")
    targets = {}
    for name, records in results.items():
        suite = SUITES[name]
        targets[name] = suite.targets(records)
        lines += ["", f"### {name}", "", harness.markdown_table(suite.HEADERS, [suite.row(r) for r in records]),
                  "", "Peak RSS over the baseline (MiB):", "", memory_table(records), ""]
        lines += [f"- {'MET' if met else 'NOT MET'}: {text}" for text, met in targets[name]]
    return "\n".join(lines), targets


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.case:
        return run_one_case(args)
    import torch

    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    repeats = args.repeats or (1 if args.quick else 3)
    suites = args.suite or list(SUITES)
    machine = harness.machine()
    source = harness.source_state()
    settings = {"quick": args.quick, "suites": suites, "repeats": repeats, "seed": args.seed,
                "threads": args.threads or torch.get_num_threads(), "wait_idle": args.wait_idle, "source": source}
    say(f"monge benchmarks on {machine['cpu']} ({machine['cores']} cores), torch threads {settings['threads']}, "
        f"repeats {repeats}")
    results: dict[str, list[dict]] = {}
    start = time.perf_counter()
    for name in suites:
        suite = SUITES[name]
        say(f"\n## {name}\n" + harness.markdown_table(suite.HEADERS, []))
        results[name] = []
        for params in suite.cases(args.quick):
            record = run_isolated(args, name, params, repeats, say)
            results[name].append(record)
            say("| " + " | ".join(suite.row(record)) + " |")
            if record["transport_sha1"] != source["transport_sha1"]:
                say(f"    WARNING: src/monge/transport changed during the run (case {label(params)})")
    markdown, targets = report(machine, settings, results)
    say(f"\n# Results ({time.perf_counter() - start:.0f} s)\n\n{markdown}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"machine": machine, "settings": settings, "results": results, "markdown": markdown,
                   "targets": {k: [{"target": t, "met": m} for t, m in v] for k, v in targets.items()}}
        args.out.write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

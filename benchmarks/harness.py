"""A small timing harness for side-by-side benchmarks (the method: benchmarks/README.md).

Each contender of a case is warmed up on a tiny problem (imports, lazy initialisation), then called
once at full size to measure its peak memory: the extra RSS over the RSS before the call
(``malloc_trim``, ``/proc/self/clear_refs`` reset, then ``VmHWM``). Then the timed runs alternate,
A B C A B C ... ``run.py`` runs every case in a fresh process, so no allocator state or cache
survives from one case to the next.
"""

from __future__ import annotations

import ctypes
import gc
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable

import numpy as np

MIB = 1 << 20


@dataclass
class Contender:
    """One way of doing the case's work.

    ``run()`` is the timed call; ``value(out)``, untimed, turns its output into the figure every
    contender must agree on (an optimal cost, or an array of them). ``warmup()`` is called once,
    untimed, before the first measurement (a tiny problem: imports, lazy initialisation).
    """

    name: str
    run: Callable[[], Any]
    value: Callable[[Any], Any] | None = None
    warmup: Callable[[], Any] | None = None


def _status_kib(key: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{key}:\s+(\d+) kB", text, re.M)
    return int(found.group(1)) if found else None


def _malloc_trim() -> None:
    """Give the C heap's free memory back to the system (glibc), so that the next call's use counts."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak() -> int | None:
    """Reset the process's peak RSS to its current RSS; return that RSS in KiB (None if unsupported).

    Free heap memory is returned to the system first: otherwise a call that reuses what an earlier
    contender freed would show no extra memory.
    """
    _malloc_trim()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    return _status_kib("VmRSS")


def measure(fn: Callable[[], Any], memory: bool = False) -> tuple[float, float | None, Any]:
    """Run ``fn`` once: its wall time in seconds, its output and, with ``memory``, its peak RSS over
    the RSS before it in MiB (the C heap trimmed first, so its first touch of memory is timed too)."""
    gc.collect()
    base = reset_peak() if memory else None
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM") if base is not None else None
    extra = None if base is None or peak is None else max(peak - base, 0) / 1024
    return seconds, extra, out


def compare(contenders: list[Contender], repeats: int, progress: Callable[[str], None] | None = None) -> dict:
    """Time the contenders alternately, ``repeats`` times each; stats and agreed figure per name.

    After the tiny warm-ups, one untimed full-size call per contender measures its peak memory (and
    its time as ``first_call``, memory touched afresh); then the timed runs go A B C A B C ...
    Returns ``{name: {"times", "median", "min", "max", "first_call", "rss_extra_mib", "value"}}``;
    ``value`` is the output of the contender's ``value`` on its last run (None without one).
    """
    for c in contenders:
        if c.warmup is not None:
            c.warmup()
    first: dict[str, tuple[float, float | None]] = {}
    for c in contenders:
        seconds, extra, out = measure(c.run, memory=True)
        first[c.name] = seconds, extra
        del out
        if progress is not None:
            progress(f"{c.name} first call (memory): {seconds:.3f} s")
    times: dict[str, list[float]] = {c.name: [] for c in contenders}
    values: dict[str, Any] = {}
    for r in range(repeats):
        for c in contenders:
            seconds, _, out = measure(c.run)
            times[c.name].append(seconds)
            values[c.name] = c.value(out) if c.value is not None else None
            del out
            if progress is not None:
                progress(f"{c.name} run {r + 1}/{repeats}: {seconds:.3f} s")
    return {c.name: {"times": times[c.name], "median": statistics.median(times[c.name]),
                     "min": min(times[c.name]), "max": max(times[c.name]), "first_call": first[c.name][0],
                     "rss_extra_mib": first[c.name][1], "value": values[c.name]}
            for c in contenders}


def relative_error(value, reference) -> float:
    """Largest relative difference between two figures (scalars or arrays)."""
    v, ref = np.asarray(value, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    return float(np.max(np.abs(v - ref) / np.maximum(np.abs(ref), np.finfo(np.float64).tiny)))


def check_agreement(stats: dict, names: list[str], rtol: float = 1e-9) -> None:
    """Mark each of ``names`` with ``rel_error`` to the best (smallest) figure and ``optimal``, in place."""
    best = min((stats[name]["value"] for name in names), key=lambda v: float(np.sum(v)))
    for name in names:
        err = relative_error(stats[name]["value"], best)
        stats[name]["rel_error"] = err
        stats[name]["optimal"] = err <= rtol


def permutation_cost(x: np.ndarray, z: np.ndarray, perm) -> float | np.ndarray:
    """Mean squared distance ``|x_i - z_perm(i)|^2`` (batched over leading axes), checking ``perm`` is one."""
    perm = np.asarray(perm, dtype=np.int64)
    if not (np.sort(perm, axis=-1) == np.arange(perm.shape[-1])).all():
        raise AssertionError("a contender returned an assignment that is not a permutation")
    partner = np.take_along_axis(z, perm[..., None], axis=-2)
    return ((x - partner) ** 2).sum(-1).mean(-1)


def cpu_snapshot() -> tuple[float, float, float] | None:
    """Machine-wide busy and total CPU seconds (``/proc/stat``, all cores) and this process's CPU seconds."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    hz = os.sysconf("SC_CLK_TCK")
    own = os.times()
    total = sum(ticks[:8]) / hz  # user nice system idle iowait irq softirq steal
    return total - (ticks[3] + ticks[4]) / hz, total, own.user + own.system


def others_cpu(before, after) -> float | None:
    """Share of the machine's CPU capacity that other processes used between two snapshots (0 to 1)."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return max(0.0, ((after[0] - before[0]) - (after[2] - before[2])) / (after[1] - before[1]))


def wait_until_idle(max_seconds: float, threshold: float = 0.2, say=print) -> float:
    """Wait (at most ``max_seconds``) until other processes use less than ``threshold`` of the CPU.

    On a shared machine a busy neighbour slows torch's threads far more than single-threaded
    anchors (its threads wait for each other at every parallel region). Returns the seconds waited.
    """
    start, told = time.perf_counter(), -math.inf
    while True:
        before = cpu_snapshot()
        time.sleep(1.0)
        share = others_cpu(before, cpu_snapshot())
        waited = time.perf_counter() - start
        if share is None or share < threshold or waited >= max_seconds:
            return waited
        if waited - told >= 30:
            say(f"    (other processes use {100 * share:.0f}% of the CPU: waiting up to {max_seconds:.0f} s)")
            told = waited


def source_state() -> dict:
    """The commit of the repository and a digest of monge's transport sources as they are on disk now.

    The benchmarks measure the working tree: a digest that changes between cases means the code
    changed during the run.
    """
    import hashlib

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha1()
    for path in sorted((root / "src" / "monge" / "transport").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(root), "status", "--porcelain", "src/monge"],
                                    capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", None
    return {"commit": commit, "uncommitted_changes": dirty, "transport_sha1": digest.hexdigest()[:12]}


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def machine() -> dict:
    """The CPU, cores, torch threads and the versions of the packages measured."""
    import torch

    model = "unknown"
    try:
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        model = found.group(1).strip() if found else model
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": model, "cores": cores, "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "platform": platform.platform(),
            "versions": {name: _package_version(name) for name in ("torch", "numpy", "scipy", "POT", "lap", "monge")}}


def in_subprocess(script: Path, suite: str, params: dict, repeats: int, seed: int, verbose: bool,
                  extra_args: tuple[str, ...] = ()) -> dict:
    """Run one case of ``suite`` in a fresh process (``script --case``); return its JSON record."""
    cmd = [sys.executable, str(script), "--case", suite, "--params", json.dumps(params),
           "--repeats", str(repeats), "--seed", str(seed), *extra_args] + ([] if verbose else ["--quiet"])
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"case {suite} {params} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fmt_time(stats: dict | None) -> str:
    """``median [min-max]`` in seconds, three significant figures."""
    if stats is None:
        return "-"
    if stats["min"] == stats["max"]:
        return f"{stats['median']:.3g}"
    return f"{stats['median']:.3g} [{stats['min']:.3g}-{stats['max']:.3g}]"


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)

"""Where a jitted function's time goes on XLA:CPU, from a `jax.profiler` trace.

XLA:CPU runs a compiled program as a sequence of thunks (one per fusion, matmul, copy or loop)
and, with the profiler on, records each as a trace event named after its HLO instruction. This
module runs a function under the profiler, reads the Perfetto trace back and sums the events
by kind, so a benchmark can say how much of an update is matrix multiplication, how much of that
runs inside sequential loops (one small matmul per time step), and how much is element-wise work
and copies. It also lays the thunks on a timeline: how long no thunk, one, or two or more ran
at once, which shows how much XLA overlaps independent work (a large matmul beside a time loop)
and how much of a call is spent between thunks.

    profile = thunk_profile(lambda: agent.update_many(state, batches), calls=2, per_call=5)
    print(format_profile(profile))
"""

from __future__ import annotations

import collections
import dataclasses
import glob
import gzip
import json
import os
import tempfile
import time
from typing import Callable

import jax

# Event names that are the runtime's own bookkeeping (nested around the thunks), not thunks. The
# "end: NAME" events mark where a thunk's completion is handled; counting them would double the
# thunk count and add their microsecond to the element-wise kinds.
_RUNTIME_PREFIXES = ("ThunkExecutor", "SlinkyThreadPool", "$", "PjitFunction", "PjRt", "TfrtCpu", "Thunk", "end: ")


@dataclasses.dataclass(frozen=True)
class ThunkProfile:
    """Thunk time per call of the profiled function, in milliseconds, with event counts per call.

    Attributes:
      wall_ms: wall time per call under the profiler (tracing itself adds a few percent).
      by_kind: {kind: (ms per call, thunks per call)} for the kinds in `KINDS`.
      top: the most expensive thunks: (name, ms per call, runs per call).
      at_once: ms per call during which no thunk, exactly one, or two or more ran (keys 0, 1, 2),
        from the first thunk's start to the last one's end.
    """

    wall_ms: float
    by_kind: dict
    top: list
    at_once: dict = dataclasses.field(default_factory=dict)


KINDS = {
    "matmul in loops": "matrix multiplications that run many times per call (one per time step)",
    "matmul, large": "matrix multiplications that run a few times per call",
    "element-wise in loops": "fusions, copies and slices run many times per call",
    "element-wise, large": "fusions, copies, transposes and broadcasts run a few times per call",
}


def _is_matmul(name: str) -> bool:
    return name.startswith(("ynn_fusion", "xnn_fusion", "dot", "onednn")) or "dot" in name.split(".")[0]


def _is_loop(name: str) -> bool:
    # A while thunk's own event spans its body's thunks; counting both would count time twice.
    return name.startswith("while")


def _thunk_events(events: list) -> list:
    """The complete ('X') events that are thunks: not runtime bookkeeping, not a loop's own span."""
    return [
        e for e in events
        if e.get("ph") == "X" and not e.get("name", "").startswith(_RUNTIME_PREFIXES) and not _is_loop(e.get("name", ""))
    ]


def thunks_at_once(events: list, calls: int) -> dict:
    """Milliseconds per call with 0, 1 or 2+ thunks running, over the span of all thunk events.

    A sweep over start (+1) and end (-1) points; an end sorts before a start at the same instant,
    so back-to-back thunks do not count as overlapping.
    """
    points = sorted(p for e in _thunk_events(events) for p in ((e["ts"], 1), (e["ts"] + e.get("dur", 0.0), -1)))
    at_once = {0: 0.0, 1: 0.0, 2: 0.0}
    running, previous = 0, points[0][0] if points else 0.0
    for time_point, change in points:
        at_once[min(running, 2)] += time_point - previous
        running, previous = running + change, time_point
    return {k: v / calls / 1e3 for k, v in at_once.items()}


def summarize_events(events: list, calls: int, loop_threshold: int = 20, top: int = 12) -> tuple[dict, list]:
    """Sums complete ('X') trace events by thunk name and kind, per call of the profiled function."""
    total, count = collections.Counter(), collections.Counter()
    for e in _thunk_events(events):
        name = e["name"]
        total[name] += e.get("dur", 0.0)
        count[name] += 1
    by_kind = {kind: [0.0, 0.0] for kind in KINDS}
    for name, micros in total.items():
        runs = count[name] / calls
        in_loop = runs >= loop_threshold
        if _is_matmul(name):
            kind = "matmul in loops" if in_loop else "matmul, large"
        else:
            kind = "element-wise in loops" if in_loop else "element-wise, large"
        by_kind[kind][0] += micros / calls / 1e3
        by_kind[kind][1] += runs
    ranked = [(n, t / calls / 1e3, count[n] / calls) for n, t in total.most_common(top)]
    return {k: tuple(v) for k, v in by_kind.items()}, ranked


def thunk_profile(fn: Callable[[], object], calls: int = 2, per_call: int = 1) -> ThunkProfile:
    """Profiles `calls` runs of `fn` (already compiled and warm), reporting per unit of work.

    `per_call` is how many units (e.g. updates) one call of `fn` performs, so figures come out
    per update when `fn` runs a block of updates.
    """
    with tempfile.TemporaryDirectory(prefix="jaxpcc-trace-") as folder:
        with jax.profiler.trace(folder, create_perfetto_trace=True):
            start = time.perf_counter()
            out = None
            for _ in range(calls):
                out = fn()
            jax.block_until_ready(out)
            wall = time.perf_counter() - start
        traces = glob.glob(os.path.join(folder, "**", "perfetto_trace.json.gz"), recursive=True)
        if not traces:
            raise RuntimeError("jax.profiler wrote no Perfetto trace; is this jaxlib built with the profiler?")
        with gzip.open(traces[0]) as f:
            data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    by_kind, top = summarize_events(events, calls * per_call)
    at_once = thunks_at_once(events, calls * per_call)
    return ThunkProfile(wall_ms=wall / (calls * per_call) * 1e3, by_kind=by_kind, top=top, at_once=at_once)


def format_profile(profile: ThunkProfile, unit: str = "update") -> str:
    """A small table: thunk time by kind, then the most expensive thunks."""
    lines = [f"  wall under the profiler: {profile.wall_ms:.1f} ms per {unit}"]
    lines.append(f"  {'kind':24s} {'ms/' + unit:>10s} {'thunks/' + unit:>14s}")
    busy = sum(ms for ms, _ in profile.by_kind.values())
    for kind, (ms, runs) in profile.by_kind.items():
        lines.append(f"  {kind:24s} {ms:10.1f} {runs:14.0f}")
    lines.append(f"  {'sum (both cores)':24s} {busy:10.1f}   = {busy / max(profile.wall_ms, 1e-9):.2f} x wall")
    if profile.at_once:
        none, one, more = (profile.at_once.get(k, 0.0) for k in (0, 1, 2))
        lines.append(f"  thunks running at once:  none {none:.1f}, one {one:.1f}, two or more {more:.1f} ms/{unit}")
    lines.append("  most expensive thunks:")
    for name, ms, runs in profile.top:
        lines.append(f"    {name[:40]:40s} {ms:8.1f} ms in {runs:5.0f} runs")
    return "\n".join(lines)

"""The benchmark's trace summary: thunk events summed by kind, per call, loops not counted twice."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from thunk_profile import format_profile, summarize_events, ThunkProfile  # noqa: E402


def _event(name, dur, ph="X"):
    return {"name": name, "dur": dur, "ph": ph}


def test_events_are_summed_by_kind_per_call():
    calls, steps = 2, 30
    events = []
    for _ in range(calls):
        events += [_event("while.3", 9_000.0), _event("ThunkExecutor::Execute", 50_000.0), _event("$api.py:1 f", 1.0)]
        events += [_event("ynn_fusion.1", 100.0) for _ in range(steps)]  # a step matmul
        events += [_event("add_multiply_fusion", 4.0) for _ in range(steps)]  # a step fusion
        events += [_event("ynn_fusion.7", 2_000.0), _event("dot.2", 500.0)]  # large matmuls
        events += [_event("copy_bitcast_fusion", 700.0), _event("copy_bitcast_fusion", 0.0, ph="i")]
    by_kind, top = summarize_events(events, calls, loop_threshold=20)
    assert by_kind["matmul in loops"] == pytest.approx((steps * 100.0 / 1e3, steps))
    assert by_kind["element-wise in loops"] == pytest.approx((steps * 4.0 / 1e3, steps))
    assert by_kind["matmul, large"] == pytest.approx((2.5, 2))
    assert by_kind["element-wise, large"] == pytest.approx((0.7, 1))
    assert top[0] == ("ynn_fusion.1", pytest.approx(3.0), steps)
    assert {name for name, _, _ in top}.isdisjoint({"while.3", "ThunkExecutor::Execute", "$api.py:1 f"})


def test_format_profile_reports_the_share_of_wall_time():
    by_kind = {"matmul in loops": (30.0, 30), "matmul, large": (2.5, 2), "element-wise in loops": (0.0, 0),
               "element-wise, large": (7.5, 1)}
    text = format_profile(ThunkProfile(wall_ms=20.0, by_kind=by_kind, top=[("ynn_fusion.1", 3.0, 30)]))
    assert "40.0" in text and "2.00 x wall" in text and "ynn_fusion.1" in text

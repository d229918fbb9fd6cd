"""The benchmark's trace summary: thunk events summed by kind, per call, loops not counted twice."""


import pytest

from benchmarks.thunk_profile import format_profile, summarize_events, thunks_at_once, ThunkProfile


def _event(name, dur, ph="X", ts=0.0):
    return {"name": name, "dur": dur, "ph": ph, "ts": ts}


def test_events_are_summed_by_kind_per_call():
    calls, steps = 2, 30
    events = []
    for _ in range(calls):
        events += [_event("while.3", 9_000.0), _event("ThunkExecutor::Execute", 50_000.0), _event("$api.py:1 f", 1.0)]
        events += [_event("ynn_fusion.1", 100.0) for _ in range(steps)]  # a step matmul
        events += [_event("add_multiply_fusion", 4.0) for _ in range(steps)]  # a step fusion
        events += [_event("ynn_fusion.7", 2_000.0), _event("dot.2", 500.0)]  # large matmuls
        events += [_event("copy_bitcast_fusion", 700.0), _event("copy_bitcast_fusion", 0.0, ph="i")]
        events += [_event("end: copy_bitcast_fusion", 1.0)]  # completion marker, not a thunk
    by_kind, top = summarize_events(events, calls, loop_threshold=20)
    assert by_kind["matmul in loops"] == pytest.approx((steps * 100.0 / 1e3, steps))
    assert by_kind["element-wise in loops"] == pytest.approx((steps * 4.0 / 1e3, steps))
    assert by_kind["matmul, large"] == pytest.approx((2.5, 2))
    assert by_kind["element-wise, large"] == pytest.approx((0.7, 1))
    assert top[0] == ("ynn_fusion.1", pytest.approx(3.0), steps)
    assert {name for name, _, _ in top}.isdisjoint({"while.3", "ThunkExecutor::Execute", "$api.py:1 f", "end: copy_bitcast_fusion"})


def test_thunks_at_once_splits_the_span_by_how_many_thunks_ran():
    # Two calls, each 0..10 ms: a loop's step thunks back to back on one thread (0-2, 2-4, 6-8 ms)
    # beside a large matmul on another (3-9 ms); 4-6 ms has only the matmul, 9-10 ms nothing but a
    # gap before a last thunk at 10 ms. Bookkeeping events around them do not count.
    events = []
    for start in (0.0, 100_000.0):
        for begin, end in ((0, 2), (2, 4), (6, 8), (10, 10.5)):
            events.append(_event("multiply_tanh_fusion", (end - begin) * 1e3, ts=start + begin * 1e3))
        events.append(_event("ynn_fusion.3", 6e3, ts=start + 3e3))
        events.append(_event("ThunkExecutor::Execute", 10e3, ts=start))
        events.append(_event("while.1", 8e3, ts=start))
        events.append(_event("end: ynn_fusion.3", 0.5e3, ts=start + 9e3))
    at_once = thunks_at_once(events, calls=2)
    # per call: two or more 3-4 and 6-8 = 3 ms; one 0-3, 4-6, 8-9, 10-10.5 = 6.5 ms; none 9-10 = 1 ms
    # plus, between the calls, 100 - 10.5 ms of nothing (the host's own time) / 2 calls.
    assert at_once[2] == pytest.approx(3.0)
    assert at_once[1] == pytest.approx(6.5)
    assert at_once[0] == pytest.approx(1.0 + (100.0 - 10.5) / 2)


def test_format_profile_reports_the_share_of_wall_time():
    by_kind = {"matmul in loops": (30.0, 30), "matmul, large": (2.5, 2), "element-wise in loops": (0.0, 0),
               "element-wise, large": (7.5, 1)}
    text = format_profile(
        ThunkProfile(wall_ms=20.0, by_kind=by_kind, top=[("ynn_fusion.1", 3.0, 30)], at_once={0: 1.5, 1: 12.0, 2: 6.5})
    )
    assert "40.0" in text and "2.00 x wall" in text and "ynn_fusion.1" in text
    assert "none 1.5, one 12.0, two or more 6.5" in text

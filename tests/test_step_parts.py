"""benchmarks.step_parts: each part does the work it names (the step programs store and update)."""

import numpy as np

from benchmarks import step_parts


def test_every_part_runs_and_the_step_programs_store_and_update():
    fns, live = step_parts.parts("td3", batch_size=4, capacity=50, filled=10, hidden_sizes=(8, 8))
    readings = step_parts.measure(fns, live, calls=2, rounds=1)
    assert set(readings) == set(fns) and all(len(ms) == 1 and ms[0] > 0 for ms in readings.values())
    calls = step_parts.WARM_CALLS + 2
    pushes = 3 * calls  # both step programs and the store alone push one transition a call
    view = live["ring"].views[0]
    assert (view.ptr, view.size) == ((10 + pushes) % 50, 50)
    assert (int(live["ring"].arrays.ptr), int(live["ring"].arrays.size)) == (view.ptr, view.size)
    updates = 4 * calls  # the two device-batch updates and the two step programs
    assert int(live["state"].step) == updates
    assert float(np.asarray(live["sums"]["updates"])) == 2 * calls  # the step programs' updates, summed

"""Learning-curve plots from CSV logs."""

import csv

import numpy as np

from jaxpcc import plot


def write_run(path, steps, values):
    path.mkdir(parents=True)
    with open(path / "progress.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["Timesteps", "Episode Return (Test)"])
        w.writeheader()
        for s, v in zip(steps, values):
            w.writerow({"Timesteps": s, "Episode Return (Test)": v})


def test_mean_and_spread_over_run_ids_on_common_steps(tmp_path):
    write_run(tmp_path / "sac" / "1", [1000, 2000, 3000], [-1000, -500, -200])
    write_run(tmp_path / "sac" / "2", [1000, 2000], [-800, -300])
    write_run(tmp_path / "td3" / "1", [1000, 2000], ["nan", -400])
    curves = plot.collect(tmp_path, "Episode Return (Test)")
    assert sorted(curves) == ["sac", "td3"]
    steps, mean, std = plot.mean_and_spread(curves["sac"])
    np.testing.assert_array_equal(steps, [1000, 2000])
    np.testing.assert_allclose(mean, [-900, -400])
    np.testing.assert_allclose(std, [100, 100])
    out = plot.plot(tmp_path, "Episode Return (Test)", tmp_path / "c.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_logs_exit_2(tmp_path, capsys):
    assert plot.main([str(tmp_path)]) == 2
    assert "no progress.csv" in capsys.readouterr().err

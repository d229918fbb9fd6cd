"""The Ray backend on a real two-node cluster on loopback: a node dies mid-grid and the grid still completes.

Both nodes are `ray start --block` processes of their own (own session, one CPU each), so one can be
killed like a machine that goes away; the module's fixture stops both, whatever happens.
"""

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from grid_helpers import epochs_logged, grid_command, same_params, train_alone, wait_for, write_grid
from jaxpcc.grid.ray_backend import ATTEMPT_MARK, attempts
from jaxpcc.persistence.checkpoint import CheckpointError, read_meta

pytestmark = pytest.mark.slow
RAY = str(Path(sys.executable).parent / "ray")
NUM_EPOCHS = 6
# Runs long enough (6 x 1000 steps, a few seconds each) that both nodes are mid-run together.
LONGER = ["train.num_steps_per_epoch = 1000"]
NODE_OPTIONS = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--object-store-memory=80000000", "--block", "--disable-usage-stats"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive_nodes(address: str) -> int:
    out = subprocess.run([RAY, "status", "--address", address], capture_output=True, text=True, timeout=60).stdout
    active = out.split("Active:")[1].split("Pending:")[0] if "Active:" in out and "Pending:" in out else ""
    return len(re.findall(r"node_[0-9a-f]+", active))


def stop(proc: subprocess.Popen) -> None:
    """Ends a node: its whole process group (the raylet, its workers and their runs)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass
    try:  # anything of the group still alive
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    logs = tmp_path_factory.mktemp("ray")
    address = f"127.0.0.1:{free_port()}"
    nodes = {}
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    try:
        nodes["head"] = subprocess.Popen(
            [RAY, "start", "--head", f"--port={address.split(':')[1]}", "--include-dashboard=false", *NODE_OPTIONS],
            stdout=open(logs / "head.log", "w"), stderr=subprocess.STDOUT, start_new_session=True, env=env,
        )
        wait_for(lambda: alive_nodes(address) == 1, 180, "the Ray head node", poll=2)
        nodes["second"] = subprocess.Popen(
            [RAY, "start", f"--address={address}", *NODE_OPTIONS],
            stdout=open(logs / "second.log", "w"), stderr=subprocess.STDOUT, start_new_session=True, env=env,
        )
        wait_for(lambda: alive_nodes(address) == 2, 180, "the second Ray node", poll=2)
        yield address, nodes
    finally:
        for proc in reversed(list(nodes.values())):
            stop(proc)


def epoch_of(path: Path) -> int:
    try:
        return read_meta(path)["progress"]["epoch"]
    except (CheckpointError, FileNotFoundError):
        return 0


def node_ids(log: Path) -> list[str]:
    return re.findall(re.escape(ATTEMPT_MARK) + r" on \S+ \(Ray node (\w+)", log.read_text())


def test_grid_survives_a_node_dying_and_equals_runs_trained_alone(tmp_path, cluster):
    address, nodes = cluster
    grid = write_grid(tmp_path / "tiny.toml", entry_params=LONGER)
    results = tmp_path / "results"
    runs = [(algo, i) for algo in ("sac", "td3") for i in (1, 2)]
    dirs = [results / "Pendulum-v0" / a / str(i) for a, i in runs]
    with open(tmp_path / "driver.log", "w") as out:
        driver = subprocess.Popen(grid_command("run", grid, "--results_dir", results, "--ray", address, "--max-retries", 3),
                                  cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        def both_nodes_mid_run():
            assert driver.poll() is None, "the grid ended before a node could be killed mid-run"
            running = [d for d in dirs if attempts(d / "grid.log") and epoch_of(d / "checkpoint.npz") < NUM_EPOCHS]
            on_nodes = {node_ids(d / "grid.log")[-1] for d in running if node_ids(d / "grid.log")}
            return (
                len(running) == 2 and len(on_nodes) == 2  # one run on each node, so the kill stops one
                and all(1 <= epoch_of(d / "checkpoint.npz") < NUM_EPOCHS - 1 for d in running)
            )

        wait_for(both_nodes_mid_run, 240, "a run on each node to checkpoint an epoch", poll=0.1)
        os.killpg(nodes["second"].pid, signal.SIGKILL)  # the second machine goes away, with its run
        assert driver.wait(timeout=420) == 0, (tmp_path / "driver.log").read_text()
    finally:
        if driver.poll() is None:
            driver.kill()
    alone = tmp_path / "alone"
    for algo in ("sac", "td3"):
        train_alone(alone, algo, [1, 2], LONGER)
    all_nodes = set()
    retried = []
    for (algo, run_id), d in zip(runs, dirs):
        ids = node_ids(d / "grid.log")
        all_nodes.update(ids)
        epochs = epochs_logged(d / "grid.log")
        assert sorted(set(epochs)) == list(range(1, NUM_EPOCHS + 1)), (algo, run_id, epochs)
        if len(ids) > 1:
            retried.append((algo, run_id))
            assert ids[0] != ids[-1]  # retried on the surviving node
        assert len(epochs) <= NUM_EPOCHS + 1  # resumed from its checkpoint: at most the epoch in flight again
        assert same_params(d / "checkpoint.npz", alone / "Pendulum-v0" / algo / str(run_id) / "checkpoint.npz")
    assert len(all_nodes) == 2  # the runs were spread over both nodes
    assert len(retried) == 1  # the run of the killed node, and only it

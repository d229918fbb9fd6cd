"""Every mistake a user can make ends in one line and exit status 2, with nothing written."""

import errno
import struct
from pathlib import Path

import numpy as np
import pytest

from jaxpcc import cli
from jaxpcc.persistence.policy_file import POLICY_NAME
from jaxpcc.persistence.run_checkpoint import CHECKPOINT_NAME

from small_run import QUICK as SMALL_RUN

BASE = ["--env", "Pendulum-v0", "--algo", "sac", "--quiet"]
QUICK = ["--gin_param", "train.num_epochs=1", *SMALL_RUN]


def one_line_error(capsys, argv) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "In call to configurable" not in err and "allow_pickle" not in err
    return err


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


@pytest.mark.parametrize(
    "binding, says",
    [
        ("ReplayBuffer.capacity=1000 ReplayBuffer.batch_size=2000", "larger than ReplayBuffer.capacity"),
        ("train.num_epochs=0", "train.num_epochs must be at least 1"),
        ("train.num_steps_per_epoch=0", "train.num_steps_per_epoch must be at least 1"),
        ("train.num_test_episodes_per_epoch=-1", "train.num_test_episodes_per_epoch must be at least 0"),
        ("train.update_every=0", "train.update_every must be at least 1"),
        ("train.update_after=-5", "train.update_after must be at least 0"),
        ("train.num_epochs='3'", "quoted string"),
        ("ReplayBuffer.batch_size=-4", "ReplayBuffer.batch_size must be at least 1"),
        ("ReplayBuffer.capacity=0", "ReplayBuffer.capacity must be at least 1"),
        ("make_MLP.hidden_dimensions=(0,16)", "make_MLP.hidden_dimensions must be a tuple of positive"),
        ("SAC.lr=-0.1", "SAC.lr must be a positive learning rate"),
        ("SAC.lr='fast'", "SAC.lr must be a number"),
        ("SAC.gamma=1.5", "SAC.gamma must lie in [0, 1]"),
        ("earlier_checkpoints.keep=-1", "earlier_checkpoints.keep"),
    ],
)
def test_values_that_cannot_work_are_refused_before_anything_is_written(capsys, tmp_path, binding, says):
    extra = [arg for b in binding.split() for arg in ("--gin_param", b)]
    err = one_line_error(capsys, BASE + ["--results_dir", str(tmp_path / "results")] + QUICK + extra)
    assert says in err
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("args, says", [(["--run_id", "-1"], "--run_id must be at least 0"), (["--render", "--episodes", "0"], "--episodes must be at least 1")])
def test_command_line_counts_that_cannot_work_are_refused(capsys, tmp_path, args, says):
    assert says in one_line_error(capsys, BASE + ["--results_dir", str(tmp_path)] + QUICK + args)
    assert files_under(tmp_path) == []


def test_a_file_where_the_run_folder_belongs(capsys, tmp_path):
    (tmp_path / "Pendulum-v0" / "sac").mkdir(parents=True)
    (tmp_path / "Pendulum-v0" / "sac" / "1").write_text("not a folder")
    err = one_line_error(capsys, BASE + ["--results_dir", str(tmp_path)] + QUICK)
    assert str(tmp_path / "Pendulum-v0" / "sac" / "1") in err
    (tmp_path / "Pendulum-v0" / "sac" / "1").unlink()
    (tmp_path / "Pendulum-v0" / "sac").rmdir()
    (tmp_path / "Pendulum-v0").rmdir()
    (tmp_path / "Pendulum-v0").write_text("not a folder either")
    assert "Pendulum-v0" in one_line_error(capsys, BASE + ["--results_dir", str(tmp_path)] + QUICK)
    assert files_under(tmp_path) == ["Pendulum-v0"]


def test_a_read_only_results_folder_names_the_path(capsys, tmp_path, monkeypatch):
    def refused(self, *args, **kwargs):  # what mkdir meets in a read-only folder (root ignores chmod)
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refused)
    err = one_line_error(capsys, BASE + ["--results_dir", str(tmp_path / "ro")] + QUICK)
    assert "Permission denied" in err and str(tmp_path / "ro") in err


def test_a_full_disk_names_the_path_and_leaves_no_temporary_files(capsys, tmp_path, monkeypatch):
    real_savez = np.savez

    def disk_full(file, **arrays):
        real_savez(file, **{k: v[:0] if v.ndim else v for k, v in arrays.items()})  # some bytes land
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    err = one_line_error(capsys, BASE + ["--results_dir", str(tmp_path)] + QUICK)
    assert "No space left on device" in err and str(tmp_path / "Pendulum-v0" / "sac" / "1") in err
    assert not [p for p in tmp_path.rglob("*.tmp")]
    assert not (tmp_path / "Pendulum-v0" / "sac" / "1" / CHECKPOINT_NAME).exists()


def _stored_zip_with_method(path: Path, method: int) -> None:
    """Rewrites a stored zip's compression method fields (local headers and central directory)."""
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            data[start + offset : start + offset + 2] = struct.pack("<H", method)
            start += 4
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["unknown_compression", "npy_not_npz", "garbage"])
def test_unusable_checkpoint_or_policy_files_are_refused_in_one_line(capsys, tmp_path, damage):
    base = BASE + ["--results_dir", str(tmp_path)] + QUICK
    assert cli.main(base) == 0
    run_dir = tmp_path / "Pendulum-v0" / "sac" / "1"
    for name in (CHECKPOINT_NAME, POLICY_NAME):
        path = run_dir / name
        if damage == "unknown_compression":
            _stored_zip_with_method(path, 99)
        elif damage == "npy_not_npz":
            np.save(path.with_suffix(""), np.arange(5.0))
            path.with_suffix(".npy").replace(path)
        else:
            path.write_bytes(b"\x80\x04garbage")  # a pickle opcode: numpy would advise allow_pickle
        damaged = path.read_bytes()
        capsys.readouterr()
        if name == CHECKPOINT_NAME:
            err = one_line_error(capsys, base + ["--gin_param", "train.num_epochs=2"])
        else:
            err = one_line_error(capsys, base + ["--render", "--episodes", "1"])
        assert "corrupt or unreadable" in err or "compressed" in err
        assert path.read_bytes() == damaged

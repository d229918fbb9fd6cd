"""The reference's gin files, unchanged: module-prefixed names and import lines parse and run."""

import gin
import numpy as np
import pytest

from jaxpcc import cli
from jaxpcc.gin_names import REFERENCE_NAMES, translate

# Modelled on the reference's configs/test/template_100k.gin (REFERENCE-DETAILS section 7.1 and 9):
# bindings for its own loop and for its SB3 driver, through the same macros.
TEMPLATE = """\
# ====================================================================================
# gin macros
# ====================================================================================

num_epochs = 2
num_steps_per_epoch = 150
num_test_episodes_per_epoch = 1
update_after = 100

import basics.run_fns
import basics_sb3.run_fns

basics.run_fns.train.num_epochs = %num_epochs
basics.run_fns.train.num_steps_per_epoch = %num_steps_per_epoch
basics.run_fns.train.num_test_episodes_per_epoch = %num_test_episodes_per_epoch
basics.run_fns.train.update_after = %update_after

basics_sb3.run_fns.train_and_save_model.num_epochs = %num_epochs
basics_sb3.run_fns.train_and_save_model.num_steps_per_epoch = %num_steps_per_epoch
basics_sb3.run_fns.configure_ddpg.update_after = %update_after
basics_sb3.run_fns.train_and_save_model.num_test_episodes_per_epoch = %num_test_episodes_per_epoch
"""

# Modelled on configs/reproduce_sb3/sac_hopper_walker2d.gin (section 7.2): an algorithm, the MLP, the
# buffer and a configurable reference (@basics.lr_schedules.linear_decay).
SAC_SCHEDULE = """\
hidden_dimensions = (400, 300)
lr = 7.3e-4
buffer_size = 300000
batch_size = 256
gamma = 0.98
polyak = 0.98
num_steps = 1000000

import basics.actors_and_critics
import algorithms.sac
import basics.replay_buffer
import basics.lr_schedules
import basics.run_fns

basics.actors_and_critics.make_MLP.hidden_dimensions = %hidden_dimensions
algorithms.sac.SAC.lr = %lr
algorithms.sac.SAC.gamma = %gamma
algorithms.sac.SAC.polyak = %polyak
algorithms.sac.SAC.lr_schedule = @basics.lr_schedules.linear_decay
basics.lr_schedules.linear_decay.num_updates = %num_steps
basics.replay_buffer.ReplayBuffer.capacity = %buffer_size
basics.replay_buffer.ReplayBuffer.batch_size = %batch_size
basics.run_fns.train.num_epochs = 100
basics.run_fns.train.num_steps_per_epoch = 10000
basics.run_fns.train.num_test_episodes_per_epoch = 5
basics.run_fns.train.update_after = 10000
basics.run_fns.train.update_every = 64
"""

# Modelled on template_recurrent_200k_gru.gin (sections 4.3, 6.2, 7.1): the recurrent buffer and summarizer.
RECURRENT = """\
capacity = 5000  # 1M / 200 = 5000
batch_size = 10
recurrent_type = 'gru'

import basics.replay_buffer_recurrent
import basics.summarizer
import basics.run_fns
import algorithms_recurrent.recurrent_sac

basics.replay_buffer_recurrent.RecurrentReplayBuffer.capacity = %capacity
basics.replay_buffer_recurrent.RecurrentReplayBuffer.batch_size = %batch_size
basics.replay_buffer_recurrent.RecurrentReplayBuffer.segment_len = 50
basics.summarizer.Summarizer.recurrent_type = %recurrent_type
algorithms_recurrent.recurrent_sac.RecurrentSAC.gamma = 0.9
basics.run_fns.train.num_epochs = 200
basics.run_fns.train.num_steps_per_epoch = 1000
basics.run_fns.train.num_test_episodes_per_epoch = 10
basics.run_fns.train.update_after = 10000
"""


def value(name):
    v = gin.query_parameter(name)
    return v.scoped_configurable_fn() if isinstance(v, gin.config.ConfigurableReference) else v


def parse(tmp_path, text, bindings=()):
    path = tmp_path / "reference.gin"
    path.write_text(text)
    cli.parse_gin(path, list(bindings))


def test_reference_template_parses_to_the_same_settings(tmp_path):
    parse(tmp_path, TEMPLATE)
    assert [value(f"train.{k}") for k in ("num_epochs", "num_steps_per_epoch", "num_test_episodes_per_epoch", "update_after")] == [2, 150, 1, 100]


def test_reference_algorithm_buffer_mlp_and_schedule_names(tmp_path):
    parse(tmp_path, SAC_SCHEDULE)
    assert value("make_MLP.hidden_dimensions") == (400, 300)
    assert [value(f"SAC.{k}") for k in ("lr", "gamma", "polyak")] == [7.3e-4, 0.98, 0.98]
    assert gin.query_parameter("SAC.lr_schedule").configurable.name == "linear_decay"
    assert value("linear_decay.num_updates") == 1_000_000
    assert [value(f"ReplayBuffer.{k}") for k in ("capacity", "batch_size")] == [300000, 256]
    assert value("train.update_every") == 64


def test_reference_recurrent_names(tmp_path):
    parse(tmp_path, RECURRENT)
    assert [value(f"RecurrentReplayBuffer.{k}") for k in ("capacity", "batch_size", "segment_len")] == [5000, 10, 50]
    assert value("Summarizer.recurrent_type") == "gru"
    assert value("RecurrentSAC.gamma") == 0.9


def test_reference_names_in_gin_params_too(tmp_path):
    parse(tmp_path, TEMPLATE, ["basics.run_fns.train.num_epochs = 7", "algorithms.td3.TD3.lr = 0.01"])
    assert value("train.num_epochs") == 7 and value("TD3.lr") == 0.01


def test_every_reference_name_maps_to_a_registered_configurable(tmp_path):
    import jaxpcc.agents  # noqa: F401  (registers the configurables)
    import jaxpcc.replay  # noqa: F401
    import jaxpcc.loop  # noqa: F401

    for reference, short in REFERENCE_NAMES.items():
        assert reference.endswith("." + short)
        # gin names the configurable it found when the parameter is unknown (and "No configurable" otherwise).
        with pytest.raises(ValueError, match=f"Configurable '{short}' doesn't have a parameter"):
            gin.parse_config(translate(f"{reference}.no_such_parameter = 1"))


def test_translation_keeps_line_numbers_and_jaxpcc_files_unchanged():
    assert translate(TEMPLATE).count("\n") == TEMPLATE.count("\n")
    short = cli.resolve_config("configs/test/template_short.gin", "sac").read_text()
    assert translate(short) == short


def test_without_the_translation_the_reference_file_fails(tmp_path):
    # The broken variant: gin alone cannot read the reference's file.
    path = tmp_path / "reference.gin"
    path.write_text(TEMPLATE)
    import jaxpcc.loop  # noqa: F401

    with pytest.raises((ImportError, ValueError)):
        gin.parse_config_files_and_bindings([str(path)], [])


def test_unknown_reference_name_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "reference.gin"
    path.write_text("import basics.replay_buffer_recurrent\nbasics.replay_buffer_recurrent.RecurrentReplayBufferGlobal.capacity = 5\n")
    code = cli.main(["--env", "Pendulum-v0", "--algo", "sac", "--config", str(path), "--results_dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "RecurrentReplayBufferGlobal" in err and "Traceback" not in err


def test_a_reference_file_trains_like_its_jaxpcc_twin(tmp_path):
    import jaxpcc.persistence.checkpoint as ckpt

    reference = tmp_path / "reference.gin"
    reference.write_text(TEMPLATE)
    twin = tmp_path / "twin.gin"
    twin.write_text("train.num_epochs = 2\ntrain.num_steps_per_epoch = 150\ntrain.num_test_episodes_per_epoch = 1\ntrain.update_after = 100\n")
    small = ["--gin_param", "make_MLP.hidden_dimensions=(8, 8)", "--gin_param", "ReplayBuffer.batch_size=8", "--quiet"]
    for name, config in (("ref", reference), ("twin", twin)):
        argv = ["--env", "Pendulum-v0", "--algo", "td3", "--config", str(config), "--results_dir", str(tmp_path / name)]
        assert cli.main(argv + small) == 0
    a, _ = ckpt.load(tmp_path / "ref" / "Pendulum-v0" / "td3" / "1" / "checkpoint.npz")
    b, _ = ckpt.load(tmp_path / "twin" / "Pendulum-v0" / "td3" / "1" / "checkpoint.npz")
    assert a["state"].keys() == b["state"].keys()
    assert all(np.array_equal(a["state"][k], b["state"][k]) for k in a["state"])

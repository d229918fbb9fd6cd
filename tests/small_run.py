"""The settings of a run small enough for a test (Pendulum, SAC, 200 steps per epoch), as gin text
and as the command line's --gin_param flags."""

SMALL = """
make_MLP.hidden_dimensions = (16, 16)
ReplayBuffer.batch_size = 16
train.num_steps_per_epoch = 200
train.num_test_episodes_per_epoch = 1
train.update_after = 100
train.update_every = 50
"""
QUICK = [flag for line in SMALL.strip().splitlines() for flag in ("--gin_param", line.replace(" = ", "="))]

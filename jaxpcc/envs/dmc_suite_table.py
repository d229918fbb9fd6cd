"""Static facts about every dm_control 1.0.50 suite task, so registering them needs no dm_control import.

`SUITE_TASKS[(domain, task)] = (observation size, action size)`; every task runs 1000 control steps
(the `lqr` tasks have no limit in dm_control and get 1000 here too), i.e. 200 env steps at frame
skip 5. `tests/test_env_dmc.py` checks the keys against `dm_control.suite.ALL_TASKS` and the slow
sweep in `tests/test_envs.py` checks the sizes and limits against the built envs.
"""

SUITE_TASKS: dict[tuple[str, str], tuple[int, int]] = {
    ('acrobot', 'swingup'): (6, 1),
    ('acrobot', 'swingup_sparse'): (6, 1),
    ('ball_in_cup', 'catch'): (8, 2),
    ('cartpole', 'balance'): (5, 1),
    ('cartpole', 'balance_sparse'): (5, 1),
    ('cartpole', 'swingup'): (5, 1),
    ('cartpole', 'swingup_sparse'): (5, 1),
    ('cartpole', 'two_poles'): (8, 1),
    ('cartpole', 'three_poles'): (11, 1),
    ('cheetah', 'run'): (17, 6),
    ('dog', 'stand'): (223, 38),
    ('dog', 'walk'): (223, 38),
    ('dog', 'trot'): (223, 38),
    ('dog', 'run'): (223, 38),
    ('dog', 'fetch'): (232, 38),
    ('finger', 'spin'): (9, 2),
    ('finger', 'turn_easy'): (12, 2),
    ('finger', 'turn_hard'): (12, 2),
    ('fish', 'upright'): (21, 5),
    ('fish', 'swim'): (24, 5),
    ('hopper', 'stand'): (15, 4),
    ('hopper', 'hop'): (15, 4),
    ('humanoid', 'stand'): (67, 21),
    ('humanoid', 'walk'): (67, 21),
    ('humanoid', 'run'): (67, 21),
    ('humanoid', 'run_pure_state'): (55, 21),
    ('humanoid_CMU', 'stand'): (137, 56),
    ('humanoid_CMU', 'walk'): (137, 56),
    ('humanoid_CMU', 'run'): (137, 56),
    ('lqr', 'lqr_2_1'): (4, 1),
    ('lqr', 'lqr_6_2'): (12, 2),
    ('manipulator', 'bring_ball'): (44, 5),
    ('manipulator', 'bring_peg'): (44, 5),
    ('manipulator', 'insert_ball'): (44, 5),
    ('manipulator', 'insert_peg'): (44, 5),
    ('pendulum', 'swingup'): (3, 1),
    ('point_mass', 'easy'): (4, 2),
    ('point_mass', 'hard'): (4, 2),
    ('quadruped', 'walk'): (78, 12),
    ('quadruped', 'run'): (78, 12),
    ('quadruped', 'escape'): (101, 12),
    ('quadruped', 'fetch'): (90, 12),
    ('reacher', 'easy'): (6, 2),
    ('reacher', 'hard'): (6, 2),
    ('stacker', 'stack_2'): (49, 5),
    ('stacker', 'stack_4'): (63, 5),
    ('swimmer', 'swimmer6'): (25, 5),
    ('swimmer', 'swimmer15'): (61, 14),
    ('walker', 'stand'): (24, 6),
    ('walker', 'walk'): (24, 6),
    ('walker', 'run'): (24, 6),
}

CONTROL_STEPS = 1000

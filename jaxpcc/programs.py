"""Set-up that outlives a run: the agent for an env and its buffers, and the compiled programs."""

from __future__ import annotations

import collections
from typing import Callable

import gin
import numpy as np

from jaxpcc.agents import IMAGE_ALGOS, Agent, make_agent
from jaxpcc.envs import make_env, max_episode_steps
from jaxpcc.learner import Learner
from jaxpcc.replay import RecurrentReplayBuffer
from jaxpcc.replay.device_ring import DeviceRing
from jaxpcc.replay.host_buffers import HostBuffers
from jaxpcc.replay.ring import configured_settings


# Compiled programs outlive a run: later run ids, resumed runs, runs of other lengths and benchmark
# repeats in the same process reuse them (no tracing or compiling). An agent is keyed by what it
# is built from: its algorithm, sizes and config (every hyper-parameter its programs read); the
# few most recent are kept.
_PROGRAM_CACHE: "collections.OrderedDict[tuple, object]" = collections.OrderedDict()
_PROGRAM_CACHE_SIZE = 8


def _cached(key: tuple, build: Callable):
    if key in _PROGRAM_CACHE:
        _PROGRAM_CACHE.move_to_end(key)
        return _PROGRAM_CACHE[key]
    value = _PROGRAM_CACHE[key] = build()
    while len(_PROGRAM_CACHE) > _PROGRAM_CACHE_SIZE:
        _PROGRAM_CACHE.popitem(last=False)
    return value


def learner_for(agent: Agent, n: int) -> Learner:
    """The (cached) device side of `agent` for n seeds.

    The entry holds the agent itself, so its id cannot be reused while the entry lives.
    """
    return _cached(("learner", id(agent), n), lambda: Learner(agent, n))


def build_agent(env_id: str, algo: str):
    """The agent for `env_id`, and a factory of the buffers its seeds train from.

    `new_buffers(agent, sampling_seeds)` gives one buffer group for the seeds trained together:
    a `DeviceRing` for transition agents, `HostBuffers` of episode buffers for recurrent ones.
    """
    probe = make_env(env_id)
    obs_shape, action_dim = probe.observation_space.shape, probe.action_space.shape[0]
    max_steps = max_episode_steps(probe)
    image = probe.observation_space.dtype == np.uint8
    probe.close()

    def new_buffers(agent, sampling_seeds):
        if agent.is_recurrent:  # whole episodes (or segments)
            return HostBuffers(
                [RecurrentReplayBuffer(int(np.prod(obs_shape)), action_dim, max_steps, seed=s) for s in sampling_seeds], obs_shape
            )
        # Images stay uint8 in the ring; the image agent scales them to [0, 1] in its update.
        return DeviceRing(
            len(sampling_seeds), obs_shape, action_dim, sampling_seeds, obs_dtype=np.uint8 if image else np.float32,
            **configured_settings(),
        )

    overrides = {}
    if algo in IMAGE_ALGOS:  # the buffer's gin flag switches DrQ, which the agent applies in its update
        overrides["augment"] = configured_settings()["use_aug_for_img"]
    agent = make_agent(algo, obs_shape, action_dim, **overrides)  # cheap: nothing is compiled until used
    key = ("agent", algo, tuple(obs_shape), action_dim, _config_key(agent.config))
    return _cached(key, lambda: agent), new_buffers


def _config_key(config):
    """The agent's config itself (a frozen dataclass: equal configs build the same programs), or,
    should a field not be hashable, the whole gin config (a miss where the config would hit)."""
    try:
        hash(config)
    except TypeError:
        return ("gin", gin.config_str())
    return config

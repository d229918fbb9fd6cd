"""Runs the reference library itself (offpcc, PyTorch) from a user's checkout, for timing only.

The checkout is imported read-only from its path at run time; nothing of it is copied here. Its
pinned stack (gym 0.15, kornia, OpenCV) does not install beside NumPy 2, so the few names it
imports from them at module level are provided by small stand-ins, and a gymnasium env is
presented through the old gym API (reset -> obs, step -> 4-tuple with `TimeLimit.truncated`).
The stand-ins are only reached by image and video code paths, which these timings never use.
"""

from __future__ import annotations

import sys
import time
import types
from pathlib import Path

import numpy as np


def _install_stand_ins() -> list[str]:
    """Stand-ins for missing modules; returns their names so they can be withdrawn after import."""
    installed = []
    for name in ("kornia", "cv2"):
        if name not in sys.modules:
            try:
                __import__(name)
            except ImportError:
                module = types.ModuleType(name)
                module.augmentation = types.SimpleNamespace(RandomCrop=None)
                sys.modules[name] = module
                installed.append(name)
    try:
        from gym.wrappers import Monitor  # noqa: F401
    except Exception:
        gym = types.ModuleType("gym")
        gym.wrappers = types.ModuleType("gym.wrappers")
        gym.wrappers.Monitor = None
        sys.modules["gym"], sys.modules["gym.wrappers"] = gym, gym.wrappers
        installed += ["gym", "gym.wrappers"]
    return installed


def import_reference(path: str | Path):
    """The reference's algorithm classes and `train`, imported from `path` (repo root or offpcc/)."""
    root = Path(path)
    package_dir = root / "offpcc" if (root / "offpcc").is_dir() else root
    if not (package_dir / "algorithms").is_dir():
        raise FileNotFoundError(f"{path} is not an offpcc checkout (no algorithms/ under it)")
    stand_ins = _install_stand_ins()
    sys.path.insert(0, str(package_dir))
    try:
        from algorithms.convolutional_sac import ConvolutionalSAC
        from algorithms.ddpg import DDPG
        from algorithms.sac import SAC
        from algorithms.td3 import TD3
        from basics import run_fns
        from basics.lr_schedules import linear_decay
        from basics.replay_buffer import Batch, ReplayBuffer
        from basics.replay_buffer_recurrent import RecurrentBatch
        from algorithms_recurrent.recurrent_ddpg import RecurrentDDPG
        from algorithms_recurrent.recurrent_sac import RecurrentSAC
        from algorithms_recurrent.recurrent_sac_sharing import RecurrentSACSharing
        from algorithms_recurrent.recurrent_td3 import RecurrentTD3
    finally:  # other libraries (stable-baselines3) must not see the stand-ins
        for name in stand_ins:
            sys.modules.pop(name, None)

    return types.SimpleNamespace(
        algos={"ddpg": DDPG, "td3": TD3, "sac": SAC}, Batch=Batch, ReplayBuffer=ReplayBuffer, run_fns=run_fns,
        RecurrentSAC=RecurrentSAC, RecurrentBatch=RecurrentBatch, ConvolutionalSAC=ConvolutionalSAC,
        linear_decay=linear_decay,
        recurrent_algos={"rdpg": RecurrentDDPG, "rtd3": RecurrentTD3, "rsac": RecurrentSAC, "rsac_s": RecurrentSACSharing},
    )


class OldGymAPI:
    """A gymnasium env seen through gym 0.15's API, as the reference's loop expects."""

    def __init__(self, env, env_id: str):
        self.env = env
        self.spec = types.SimpleNamespace(id=env_id, max_episode_steps=env.spec.max_episode_steps)
        self.action_space = env.action_space
        self.observation_space = env.observation_space
        self._seed = 0

    def reset(self):
        self._seed += 1
        return self.env.reset(seed=self._seed)[0]

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if truncated:
            info = {**info, "TimeLimit.truncated": not terminated}
        return obs, reward, terminated or truncated, info


def time_update(ref, algo: str, obs_dim: int, act_dim: int, batch_size: int, steps: int = 100) -> float:
    """Updates/s of the reference's own `update_networks` on random batches."""
    import torch

    agent = ref.algos[algo](input_dim=obs_dim, action_dim=act_dim)
    rng = np.random.default_rng(0)

    def batch():
        t = lambda *shape: torch.as_tensor(rng.normal(size=shape), dtype=torch.float32)  # noqa: E731
        return ref.Batch(t(batch_size, obs_dim), t(batch_size, act_dim).clamp(-1, 1), t(batch_size, 1),
                         t(batch_size, obs_dim), torch.zeros(batch_size, 1))

    batches = [batch() for _ in range(10)]
    for b in batches[:3]:
        agent.update_networks(b)
    start = time.perf_counter()
    for i in range(steps):
        agent.update_networks(batches[i % len(batches)])
    return steps / (time.perf_counter() - start)


def time_training(ref, algo: str, make_env, env_id: str, batch_size: int, steps: int, update_after: int) -> float:
    """Wall time of the reference's own training loop (one epoch of `steps`, no test episodes)."""
    import gin
    import wandb

    import os

    run = wandb.init(mode="disabled")
    os.makedirs(run.dir, exist_ok=True)  # the reference saves its actor there at the end
    env = make_env()
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    agent = ref.algos[algo](input_dim=obs_dim, action_dim=act_dim)
    buffer = ref.ReplayBuffer(input_shape=(obs_dim,), action_dim=act_dim, batch_size=batch_size)
    gin.clear_config()
    start = time.perf_counter()
    ref.run_fns.train(
        lambda: OldGymAPI(make_env(), env_id), agent, buffer, num_epochs=1, num_steps_per_epoch=steps,
        num_test_episodes_per_epoch=0, update_after=update_after,
    )
    return time.perf_counter() - start


def recurrent_update_timer(ref, batches):
    """A timer (updates -> updates/s) of the reference's own `RecurrentSAC.update_networks` at its default summarizers.

    `batches` are numpy SequenceBatch-like tuples (obs [B, T+1, O], action [B, T, A], reward,
    done, mask [B, T]); they are handed over in the reference's RecurrentBatch layout.
    """
    import torch

    obs_dim, act_dim = batches.obs.shape[-1], batches.action.shape[-1]
    agent = ref.RecurrentSAC(input_dim=obs_dim, action_dim=act_dim)
    t = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.float32)  # noqa: E731
    converted = [
        ref.RecurrentBatch(t(batches.obs[k]), t(batches.action[k]), t(batches.reward[k])[..., None],
                           t(batches.done[k])[..., None], t(batches.mask[k])[..., None])
        for k in range(batches.obs.shape[0])
    ]
    agent.update_networks(converted[0])  # warm-up

    def rate(updates: int) -> float:
        start = time.perf_counter()
        for i in range(updates):
            agent.update_networks(converted[i % len(converted)])
        return updates / (time.perf_counter() - start)

    return rate

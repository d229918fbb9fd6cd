"""Replay buffers: the transition ring on the device (`device_ring`), its NumPy twin, and episode
sequences for recurrent agents (host NumPy)."""

from jaxpcc.replay.ring import ReplayBuffer
from jaxpcc.replay.sequence import RecurrentReplayBuffer

__all__ = ["RecurrentReplayBuffer", "ReplayBuffer"]

"""Replay buffers (numpy only): transitions, and episode sequences for recurrent agents."""

from jaxpcc.replay.ring import ReplayBuffer
from jaxpcc.replay.sequence import RecurrentReplayBuffer

__all__ = ["RecurrentReplayBuffer", "ReplayBuffer"]

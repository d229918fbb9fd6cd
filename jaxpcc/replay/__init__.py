"""Replay buffers (numpy only): transitions now, episode sequences for recurrent agents."""

from jaxpcc.replay.ring import ReplayBuffer

__all__ = ["ReplayBuffer"]

"""jaxpcc: off-policy deep RL for continuous control in JAX."""

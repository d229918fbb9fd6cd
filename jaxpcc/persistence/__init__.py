"""Everything a run keeps on disk: checkpoint files, buffer chunks, earlier checkpoints, the policy file.

The package's own import is light (no JAX), so the grid driver and the run header can read a
checkpoint's metadata without loading the agents.
"""

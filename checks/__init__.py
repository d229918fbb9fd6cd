"""Correctness checks against the reference library (offpcc), run as `python -m checks.NAME` from the repository root."""

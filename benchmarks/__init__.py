"""Speed and learning measurements of jaxpcc, each run as `python -m benchmarks.NAME` from the repository root."""

"""Benchmarks: measured runs against the simulator, not tests. ``uv run python -m bench --help``."""

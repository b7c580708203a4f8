"""Benchmarks: scripts that print figures and ratios to this machine's limits."""

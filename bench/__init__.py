"""Benchmarks behind docs/benchmarks.md; `make bench` runs them all and prints the figures."""

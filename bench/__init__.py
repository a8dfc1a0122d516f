"""Benchmarks and the soak test: the real daemon against the test fakes, on 127.0.0.1 only."""

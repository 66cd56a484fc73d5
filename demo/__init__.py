"""Deterministic demo world for `make run` and for tests."""

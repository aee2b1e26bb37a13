"""Benchmarks: flash crowd, raw PostgreSQL limit, programme page, documents (see README.md)."""

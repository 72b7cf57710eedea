"""Benchmarks. Each module runs as ``python -m bench.NAME``; results go to bench/RESULTS.md by hand."""

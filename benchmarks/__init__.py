"""Benchmarks: `python -m benchmarks [--quick]`; one module per benchmark, method and history in
benchmarks/README.md."""

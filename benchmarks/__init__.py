"""Benchmark harness for vpccni_model (not a test suite: nothing here asserts wall-clock times).

Run ``python benchmarks/run.py`` (``--quick`` for CI, ``--full`` for the 1,000-node day);
see ``docs/performance.md``.
"""

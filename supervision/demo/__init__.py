"""Demo data: a realistic registry (``registry``) and the bureau decisions that go with it (``decisions``).

Generators only; the ``demo-data`` command and the benchmarks load what they produce.
"""

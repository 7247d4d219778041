"""Benchmark harness: this SDK against the official ``azure-batch`` SDKs, side by side.

Run it with ``nox -s bench`` or ``python -m benchmarks.run [--quick] [--only ...] [--reps N]``.
Every SDK runs in its own clean interpreter (:mod:`benchmarks.worker`) against a server in a
separate process: the project's emulator or the minimal :mod:`benchmarks.stdlib_server`.
Results go to ``benchmarks/results/`` (JSON, Markdown, PNG plots) and the headline table to a
marked region of the README.
"""

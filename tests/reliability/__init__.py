"""Helpers of the reliability suite (tests/test_reliability_*.py) and its report command.

`python -m tests.reliability.report` runs the suite and writes docs/reliability.md.
"""

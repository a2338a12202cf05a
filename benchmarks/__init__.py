"""Benchmark adapters, graders and the run/resume/report machinery behind ``txscout bench``.

Kept import-light: the CLI builds its suite commands from names only, and each adapter module is
imported when a suite is actually used.
"""

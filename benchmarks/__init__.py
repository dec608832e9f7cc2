"""Reproducible performance figures of the platform at MFI scale (``make bench``).

One script per figure, each measuring its reference in the same run; ``run_all.py`` runs them
all against a scale database (seeded with ``manage.py seed_scale`` if missing) and writes
``results/latest.json`` and the table in ``BENCHMARKS.md``.
"""

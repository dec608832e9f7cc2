"""Deterministic demo data. Each step is idempotent: running it twice leaves the same data.

Later apps add their own step to ``STEPS``; ``manage.py seed_demo`` runs them in order.
"""

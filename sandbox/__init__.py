"""Sandbox servers that stand in for the external systems (registries, banks, P2P platforms).

They speak the same protocols as the real systems (HTTP/JSON, CSV files) over loopback, serve
deterministic data that matches the demo parties, and accept injected faults so the demo and the
tests exercise the real adapters. Run them all with ``python -m sandbox`` (``make run`` does).
"""

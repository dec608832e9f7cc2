"""Accounting (double-entry ledger). Models, services and screens arrive with their own issue; the app is registered now so
migrations and settings never need reshuffling."""

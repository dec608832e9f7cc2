"""A large, realistic dataset for measuring the platform at MFI scale (``seed_scale``).

100,000 loans across 10 branches and 100 loan officers, built in minutes with PostgreSQL's bulk
paths: rows are written as COPY text and loaded in one transaction, and everything that can be
derived set-based (balances, arrears, the last end of day) is computed by the platform's own SQL.
Schedules come from the real engine (``loans.schedule``); every journal entry is what the real
services would have posted for the same events, and the data must pass the ledger's invariants
and the loans ↔ ledger reconciliation before the load commits.
"""

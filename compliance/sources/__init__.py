"""Source adapters: one per kind of registry, all behind ``SourceAdapter``."""

from __future__ import annotations

from compliance.choices import SourceKind
from compliance.sources.bank import BankAdapter
from compliance.sources.base import RowInvalid, SourceAdapter
from compliance.sources.http import RegistryClient, SourceError, SourceRefused, SourceUnavailable
from compliance.sources.revenue import RevenueAdapter
from compliance.sources.social_security import SocialSecurityAdapter

ADAPTERS: dict[str, type[SourceAdapter]] = {
    SourceKind.SOCIAL_SECURITY: SocialSecurityAdapter,
    SourceKind.REVENUE: RevenueAdapter,
    SourceKind.BANK: BankAdapter,
}


def adapter_for(source) -> SourceAdapter:
    """The adapter that reads ``source`` (by its kind)."""
    return ADAPTERS[source.kind](source)


__all__ = [
    "ADAPTERS",
    "RegistryClient",
    "RowInvalid",
    "SourceAdapter",
    "SourceError",
    "SourceRefused",
    "SourceUnavailable",
    "adapter_for",
]

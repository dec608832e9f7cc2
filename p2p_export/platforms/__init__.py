"""Platform adapters behind one interface (``base.PlatformAdapter``), chosen by platform kind."""

from __future__ import annotations

from p2p_export.choices import PlatformKind
from p2p_export.platforms.base import PlatformAdapter


def adapter_for(platform) -> PlatformAdapter:
    if platform.kind == PlatformKind.KIVA:
        from p2p_export.platforms.kiva import KivaAdapter

        return KivaAdapter(platform)
    from p2p_export.platforms.files import FilesAdapter

    return FilesAdapter(platform)

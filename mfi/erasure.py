"""What every app uses when it erases a person's data (``crm.privacy`` runs the erasure; each
app clears its own rows with these)."""

from __future__ import annotations

from collections.abc import Iterable

ERASED_TEXT = "(erased)"  # stands where a text must not be empty


def delete_files(rows: Iterable, *fields: str) -> None:
    """Delete the stored files of ``fields`` on each row (the rows are updated by the caller)."""
    for row in rows:
        for field in fields:
            field_file = getattr(row, field)
            if field_file:
                field_file.delete(save=False)

"""Fixed values of the e-learning app."""

from __future__ import annotations

from decimal import Decimal

# Scores are percentages kept to the hundredth (2 of 3 right → 66.67).
SCORE_QUANTUM = Decimal("0.01")
HUNDRED = Decimal(100)
# Length of a certificate verification code (letters and digits without look-alikes).
VERIFICATION_CODE_LENGTH = 12
VERIFICATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# Types a lesson's downloadable file may have (sniffed from the content by mfi.uploads).
LESSON_FILE_TYPES = frozenset({"pdf", "png", "jpeg"})

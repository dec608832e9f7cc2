"""The authorization matrix: who may reach which URL, in one table (see ``matrix.py``)."""

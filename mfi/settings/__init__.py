"""Settings tree: ``base`` (development, the default), ``test`` and ``production``."""

"""govarchive: archive Vietnamese government news portals into SQLite."""

__version__ = "0.1.0"

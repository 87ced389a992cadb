"""Spiders: one generated per registry entry (see :mod:`portal_spiders.spiders.portals`)."""

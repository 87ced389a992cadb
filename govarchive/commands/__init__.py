"""Sub-commands of the ``govarchive`` CLI: one module each, with ``register(subparsers)``."""

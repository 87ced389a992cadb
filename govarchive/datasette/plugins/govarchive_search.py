"""Datasette plugin loaded by ``govarchive serve`` (``--plugins-dir``): SQL functions for Vietnamese search.

* ``govarchive_match(text)``: any user text -> a safe FTS5 expression over the folded index (diacritics
  optional, ``đ`` folded, quotes/operators neutralised), as used by the ``search`` canned query.
* ``govarchive_fold(text)``: the accent/đ fold used by the index.
"""

from __future__ import annotations

from datasette import hookimpl

NO_MATCH = '"\x01"'  # a phrase with no tokens: matches nothing, never an error


def _text(value: object) -> str:
    """Any SQL value as text: a blob or a number passed by a hand-written query must not raise (SQLite would print
    the traceback of a failing function on the server's console for every such query)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def govarchive_match(text: object) -> str:
    from govarchive.search import parse_query

    expression = parse_query(_text(text)).expression()
    return expression or NO_MATCH


def govarchive_fold(text: object) -> str:
    from govarchive.archive import fold_text

    return fold_text(_text(text))


@hookimpl
def prepare_connection(conn):
    conn.create_function("govarchive_match", 1, govarchive_match, deterministic=True)
    conn.create_function("govarchive_fold", 1, govarchive_fold, deterministic=True)

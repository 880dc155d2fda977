"""Norwegian alphabetical order, the same in Python, on SQLite and on PostgreSQL.

A leaf module: it imports nothing of the application.

Names and titles are sorted by ICU's collator for Norwegian Bokmål (CLDR's ``nb`` tailoring of
the Unicode Collation Algorithm), which is what Norwegian readers expect:

- Æ, Ø and Å are letters of their own after Z, in that order (Ä sorts with Æ, Ö with Ø).
- Letters with an accent or a caron sort with their base letter: Á with A, Č with C, Š with
  S, Ž with Z, É with E. Đ sorts with D (the tailoring says so), so Northern Sami names sit
  where a Norwegian reader looks for them.
- Ŋ and Ŧ are letters of their own in the root order (after N and after T), as in the
  Northern Sami alphabet.
- CLDR's rule ``&[before 1]ǀ<æ…<ø…<å<<<Å<<aa<<<Aa<<<AA`` makes a double "aa" sort as "å":
  "Aas" comes after "Zahl" and next to "Åse", so the older spelling of names (Aasen, Aall)
  stands among the Å-names.
- Format characters (zero-width space U+200B, soft hyphen U+00AD, the bidi marks U+200E/F and
  the like) are "completely ignorable" in the algorithm: a name pasted with a leading
  invisible mark sorts as if it were not there.
- Lower case comes before upper case only when nothing else tells two names apart.

PostgreSQL compares with its ICU collation ``nb-NO-x-icu`` (created by ``initdb`` on servers
built with ICU; Debian's are). On SQLite the same-named collation is registered on every
connection (``core.db``) and backed by PyICU, the maintained Python binding of ICU4C. When
ICU finds two different strings equal, PostgreSQL's deterministic collations break the tie by
comparing their bytes; ``sort_key`` and the SQLite collation do the same, so a list comes out
in one order on either database and in Python. With the same ICU version (Debian's libicu on
the app server and the database server) the orders are identical; across ICU versions they
may differ only in rare letters that CLDR re-tailors.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    import icu

# The name PostgreSQL gives ICU's Norwegian Bokmål collation; SQLite gets one of the same name.
COLLATION = "nb-NO-x-icu"
ICU_LOCALE = "nb_NO"

_local = threading.local()


class CollationMissing(RuntimeError):
    """The PostgreSQL server has no ICU collation for Norwegian."""

    def __init__(self) -> None:
        super().__init__(
            f'PostgreSQL has no collation "{COLLATION}": Norwegian sorting needs a server '
            "built with ICU support (Debian's packages are), whose initdb creates the ICU "
            "collations listed in the catalog pg_collation"
        )


def collator() -> icu.Collator:
    """This thread's ICU collator for Norwegian Bokmål (ICU objects are kept per thread)."""
    found = getattr(_local, "collator", None)
    if found is None:
        # PyICU and ICU's data add about 9 MB to a process: imported by the first list sorted
        # in Python or on SQLite, not by every web worker at start (on PostgreSQL the server
        # sorts, and the catalog sorts no names).
        import icu

        found = _local.collator = icu.Collator.createInstance(icu.Locale(ICU_LOCALE))
    return found


def sort_key(text: str) -> tuple[bytes, str]:
    """A key that sorts strings in Norwegian order (ties broken by code point, like
    PostgreSQL's byte comparison)."""
    return collator().getSortKey(text), text


def compare(a: str, b: str) -> int:
    """Negative, zero or positive as ``a`` sorts before, with or after ``b`` (SQLite's
    collation callback)."""
    result = collator().compare(a, b)
    if result:
        return result
    return (a > b) - (a < b)


def collated(expression: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """``expression COLLATE "nb-NO-x-icu"``, for an ORDER BY in Norwegian order."""
    return sa.collate(expression, COLLATION)


def register_sqlite(dbapi_connection) -> None:
    """Give an sqlite3 connection the Norwegian collation under PostgreSQL's name."""
    dbapi_connection.create_collation(COLLATION, compare)


def check_postgresql(dbapi_connection) -> None:
    """Raise ``CollationMissing`` unless the server has the Norwegian ICU collation."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1 FROM pg_collation WHERE collname = %s", (COLLATION,))
        found = cursor.fetchone()
    finally:
        cursor.close()
        dbapi_connection.rollback()
    if found is None:
        raise CollationMissing()

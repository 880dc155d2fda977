"""Certificate codes: made at random from an alphabet that is hard to misread, read back from
whatever a person typed or scanned, and printed in two groups."""

from __future__ import annotations

import re
import secrets

# Crockford's base 32: digits and capitals without I, L, O and U, which are read wrongly.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
# What people type for the letters left out.
_LOOKALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—]+")


def new_code() -> str:
    """A random code of ``CODE_LENGTH`` characters (50 bits) from ``CODE_ALPHABET``."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str | None) -> str | None:
    """The code as stored, from what a person typed: any case, spaces and dashes ignored,
    O read as 0 and I or L as 1. None when it cannot be a code."""
    if not raw or len(raw) > 4 * CODE_LENGTH:
        return None
    code = _SEPARATORS.sub("", raw).upper().translate(_LOOKALIKES)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def display_code(code: str) -> str:
    """The code as printed, in two groups: '7K3M9-QX2WP'."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"

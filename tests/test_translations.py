"""Every string a person reads is translated, and not fuzzy, in all three catalogs."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("nn", "nb", "en")
KEYWORDS = {
    "_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
    "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3), "lazy_ngettext": (1, 2),
}
METHOD_MAP = [
    ("tests/**", "ignore"), ("bench/**", "ignore"), (".venv/**", "ignore"),
    ("**.py", "python"), ("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2"),
]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def source_messages() -> set:
    """Every msgid in the source code and templates, extracted the way `make extract` does."""
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), METHOD_MAP, keywords=KEYWORDS,
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


@pytest.fixture(scope="module")
def messages() -> set:
    return source_messages()


def load_catalog(locale: str):
    with open(ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_source_string_is_translated(messages, locale):
    catalog = load_catalog(locale)
    problems = []
    for msgid in sorted(messages, key=str):
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        entry = catalog.get(key)
        if entry is None:
            problems.append(f"missing: {msgid!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        elif not (all(entry.string) if isinstance(entry.string, tuple) else entry.string):
            problems.append(f"untranslated: {msgid!r}")
    assert not problems, f"{locale}: run `make update-translations` and translate:\n" + "\n".join(
        problems
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_no_fuzzy_or_empty_entries_in_catalog(locale):
    catalog = load_catalog(locale)
    bad = [m.id for m in catalog if m.id and (m.fuzzy or not (
        all(m.string) if isinstance(m.string, tuple) else m.string))]
    assert bad == []


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_survive_translation(locale):
    catalog = load_catalog(locale)
    for m in catalog:
        if not m.id:
            continue
        source = m.id if isinstance(m.id, tuple) else (m.id,)
        target = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = set().union(*(PLACEHOLDER.findall(s) for s in source))
        for text in target:
            assert set(PLACEHOLDER.findall(text)) <= wanted, (locale, m.id, text)
        assert wanted - {"n", "num"} <= set().union(*(PLACEHOLDER.findall(t) for t in target)), (
            locale, m.id)

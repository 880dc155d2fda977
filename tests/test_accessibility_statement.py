"""The accessibility statement in Nynorsk, Bokmål and English, and the footer every page has: a
link to the statement and the privacy notice, and each county governor office's contact.

Page-only: what is checked is markup built from a data file, the same on either database.
"""

from __future__ import annotations

import html
import json
import re

import pytest

from core.offices import COUNTIES_FILE, read_offices
from tests.conftest import staff_login

pytestmark = pytest.mark.one_database

# The heading, the legal basis, the feedback section, the complaint bodies and "to be
# confirmed by the office", as each language says them.
STATEMENT = {
    "nn": ("Tilgjengelegheitserklæring", "forskrift om universell utforming av IKT-løysingar",
           "Meld gjerne frå om brot på krava", "Diskrimineringsnemnda behandlar klager",
           "Tilsynet for universell utforming av ikt", "Må stadfestast av Statsforvaltaren"),
    "nb": ("Tilgjengelighetserklæring", "forskrift om universell utforming av IKT-løsninger",
           "Meld gjerne fra om brudd på kravene", "Diskrimineringsnemnda behandler klager",
           "Tilsynet for universell utforming av ikt", "Må bekreftes av Statsforvalteren"),
    "en": ("Accessibility statement", "regulation on universal design of ICT solutions",
           "Tell us about breaches of the requirements",
           "The Anti-Discrimination Tribunal (Diskrimineringsnemnda) handles complaints",
           "The Authority for Universal Design of ICT", "To be confirmed by the office"),
}


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def part(page: str, tag: str) -> str:
    """The page's ``<main>`` or ``<footer>``."""
    return page[page.index(f"<{tag}"):page.index(f"</{tag}>")]


def office_emails() -> list[str]:
    data = json.loads(COUNTIES_FILE.read_text(encoding="utf-8"))
    return [row["email"] for row in data["counties"]]


def test_statement_in_each_language_names_law_feedback_and_complaint_bodies(client):
    for code, (heading, law, feedback, tribunal, authority, unconfirmed) in STATEMENT.items():
        response = client.get(f"/accessibility/{code}")
        assert response.status_code == 200
        page = text(response)
        main = part(page, "main")
        assert f'<html lang="{code}">' in page
        # The long Norwegian word may break at a soft hyphen on a narrow screen.
        assert f"<h1>{heading}</h1>" in main.replace("\xad", "")
        assert law in main
        assert "WCAG 2.1" in main
        assert "https://lovdata.no/dokument/SF/forskrift/2013-06-21-732" in main
        assert f'<h2 id="feedback">{feedback}</h2>' in main
        for email in office_emails():
            assert f'<a href="mailto:{email}">{email}</a>' in main
        assert tribunal in main
        assert 'href="https://www.diskrimineringsnemnda.no/"' in main
        assert authority in main
        assert 'href="https://www.uutilsynet.no/"' in main
        # Unconfirmed phone numbers, the approved date, the responsible unit, a manual audit.
        assert main.count(unconfirmed) >= 4
        assert f'href="/accessibility/{code}" lang="{code}" hreflang="{code}" aria-current="page"' \
            in main
    assert client.get("/accessibility/se").status_code == 404


def test_statement_follows_the_chosen_language_and_choosing_one_there_shows_it(client):
    client.get("/lang/nb")
    assert "<h1>Tilgjengelighets\xaderklæring</h1>" in text(client.get("/accessibility"))
    # The fixed address of one language keeps it, whatever the cookie says ...
    assert "<h1>Accessibility statement</h1>" in text(client.get("/accessibility/en"))
    # ... so choosing another language on it goes to that language's address.
    switch = client.get("/lang/nn?next=/accessibility/en")
    assert switch.headers["Location"] == "/accessibility/nn"
    assert client.get("/lang/nn?next=/privacy").headers["Location"] == "/privacy"


def test_footer_links_statement_and_lists_every_office_on_public_and_staff_pages(
        app, client, make_offering, make_staff):
    offering = make_offering()
    make_staff()
    client.get("/lang/en")
    public = ["/", f"/courses/{offering.id}", f"/courses/{offering.id}/enroll", "/privacy",
              "/accessibility", "/no-such-page", "/staff/login"]
    staff_login(app, client)
    pages = [(url, client.get(url)) for url in [*public, "/staff/", "/staff/courses"]]
    for url, response in pages:
        assert response.status_code == (404 if url == "/no-such-page" else 200), url
        footer = part(text(response), "footer")
        nav = re.search(r'<nav aria-label="About the service">(.*?)</nav>', footer, re.S)
        assert nav, url
        assert '<a class="ds-link" href="/accessibility">Accessibility statement</a>' \
            in nav.group(1), url
        assert 'href="/privacy"' in nav.group(1), url
        for email in office_emails():
            assert f'href="mailto:{email}">{email}</a>' in footer, (url, email)


def test_office_contacts_come_from_the_data_file_with_unconfirmed_details_marked(client):
    offices = read_offices()
    assert len(offices) == 10
    assert [o.slug for o in offices][-1] == "ostfold-buskerud-oslo-akershus"  # Ø after Z
    vestland = next(o for o in offices if o.slug == "vestland")
    assert vestland.name("nn") == "Statsforvaltaren i Vestland"
    assert vestland.web == "https://www.statsforvalteren.no/nb/vestland/"

    footer = part(text(client.get("/accessibility/nn")), "footer")
    assert "<li>Statsforvaltaren i Vestland: <a" in footer
    main = part(text(client.get("/accessibility/nn")), "main")
    block = main[main.index("Statsforvaltaren i Vestland</a>"):]
    block = block[:block.index("</li>")]
    assert "Telefon: Må stadfestast av Statsforvaltaren" in block
    assert "Postadresse: Må stadfestast av Statsforvaltaren" in block

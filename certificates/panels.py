"""What certificates add to enrollment's pages, through the hooks of ``enrollment.panels``: the
certificate section of the participant's manage page, and the print link and each confirmed
row's issue and revoke actions on the staff participant list."""

from __future__ import annotations

from flask import current_app, render_template, url_for
from markupsafe import Markup

from certificates import services as certs
from certificates.rules import breaches
from core.db import get_session
from enrollment.panels import CompletionFact, RosterPart

# A number no enrollment id is, replaced by ``{}`` in the URL built once per page.
_ID_MARK = 987654321


def manage_section(enrollment, token: str) -> Markup:
    """The certificate section of the manage page: download, why it is withheld or revoked,
    or how far the attendance is from the rule."""
    status = certs.status_for(get_session(), enrollment)
    return Markup(render_template(  # noqa: S704 (rendered by an autoescaping template)
        "certificates/manage_panel.html", enrollment=enrollment, token=token,
        certificate=status))


def _shown_breaches(certificate, offering) -> tuple:
    """The rules a certificate breaks (none for a revoked one: it is no longer claimed valid)."""
    return () if certificate.is_revoked else breaches(certificate, offering)


def roster_part(offering) -> RosterPart:
    """The print link and the confirmed rows' certificate actions of ``offering``'s participant
    list, with each enrollment's latest certificate loaded in one query."""
    template = current_app.jinja_env.get_template("certificates/staff/roster.html")
    issue_url = url_for("certificates.issue_certificate",
                        enrollment_id=_ID_MARK).replace(str(_ID_MARK), "{}")
    module = template.make_module({
        "offering": offering, "issue_url": issue_url, "breaches": _shown_breaches,
        "certificates": certs.latest_by_enrollment(get_session(), offering.id),
    })
    return RosterPart(links=module.links(), confirmed_actions=module.confirmed_actions)


def completion_facts(session, enrollment_ids: list[int]) -> dict[int, CompletionFact]:
    """Which of ``enrollment_ids`` have a certificate that stands, with its verification page,
    for a cohort roster's completion table."""
    return {enrollment_id: CompletionFact(url_for("certificates.verify_certificate",
                                                  code=certificate.code))
            for enrollment_id, certificate
            in certs.valid_by_enrollment(session, enrollment_ids).items()}

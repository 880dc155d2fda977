"""What a certificate says, in one language: the page the PDF builder draws, and the facts the
verification page shows, both read from the certificate's snapshot.

Only the fixed wording (labels, role and cohort names, date formats) comes from the
translations at the time of printing; every fact comes from the snapshot. Needs an
application context (translations); called with the language to use, whatever the request's.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from certificates.codes import display_code
from certificates.models import Certificate
from certificates.pdf import CertificateFact, CertificateObjective, CertificatePage
from core.i18n import OSLO, format_number, format_short_day
from enrollment.models import Role
from enrollment.services.cohorts import cohort_label


def _localised(value: dict | str, locale: str) -> str:
    if isinstance(value, str):
        return value
    return value.get(locale) or next((v for v in value.values() if v), "")


def session_days(snapshot: dict, locale: str) -> list[str]:
    """The dates of the sessions attended, formatted for ``locale``."""
    days: list[date] = []
    for item in snapshot["sessions"]:
        day = datetime.fromisoformat(item["starts_at"]).astimezone(OSLO).date()
        if day not in days:
            days.append(day)
    return [format_short_day(day, locale) for day in days]


def course_title(snapshot: dict, locale: str) -> str:
    """The course title as the certificate states it."""
    return _localised(snapshot["course_title"], locale)


def office(snapshot: dict, locale: str) -> str:
    """The issuing office as the certificate states it."""
    return _localised(snapshot["office"], locale)


def _attendance_line(snapshot: dict) -> str:
    attended, total = snapshot["attended"], snapshot["total"]
    if snapshot["by_share"]:
        return ngettext("Attended %(attended)s of %(num)s meeting",
                        "Attended %(attended)s of %(num)s meetings", total, attended=attended)
    return ngettext("Attended %(attended)s of %(num)s day",
                    "Attended %(attended)s of %(num)s days", total, attended=attended)


def _facts(snapshot: dict, locale: str) -> tuple[CertificateFact, ...]:
    days = session_days(snapshot, locale)
    facts = []
    if days:
        label = _("Meetings attended") if snapshot["by_share"] else _("Dates attended")
        facts.append(CertificateFact(label, ", ".join(days)))
    if snapshot["by_share"] or snapshot["attended"] < snapshot["total"]:
        facts.append(CertificateFact(_("Attendance"), _attendance_line(snapshot)))
    hours = format_number(round(snapshot["hours"], 1), locale)
    facts.append(CertificateFact(_("Total hours"), _("%(hours)s hours", hours=hours)))
    return tuple(facts)


def signed_line(signer: str, verify_address: str) -> str:
    """The printed line of a signed certificate, in the current language."""
    return _("Digitally signed by %(signer)s. To check the signature, open the file in a PDF "
             "reader, or upload it at %(address)s.", signer=signer, address=verify_address)


def signature_reason(certificate: Certificate, locale: str) -> str:
    """The reason a PDF reader's signature panel shows, in ``locale``."""
    with force_locale(locale):
        return _("Certificate of attendance %(code)s", code=display_code(certificate.code))


def page_for(certificate: Certificate, locale: str, verify_url: str, *, signer: str = "",
             verify_address: str = "") -> CertificatePage:
    """The certificate as the builder draws it, its words translated into ``locale``; with
    ``signer``, the line saying who signed it digitally and where to check the file.

    Everything comes from the snapshot; only the fixed wording (labels, role and cohort
    names) is taken from the translations at the time of printing.
    """
    snap = certificate.snapshot
    with force_locale(locale):
        title = course_title(snap, locale)
        person = [str(Role(snap["role"]).title)]
        if snap["hpr_number"]:
            person.append(_("HPR number %(number)s", number=snap["hpr_number"]))
        issued = format_short_day(date.fromisoformat(snap["issued_on"]), locale)
        heading = _("Certificate of attendance")
        return CertificatePage(
            lang=locale, office=office(snap, locale), heading=heading,
            certifies=_("This is to certify that"), name=snap["name"],
            person=" · ".join(person), completed=_("has attended"), course_title=title,
            course_details=" · ".join((
                _localised(snap["kind_name"], locale),
                *([cohort_label(date.fromisoformat(snap["cohort"]), locale)]
                  if snap.get("cohort") else []))),
            facts=_facts(snap, locale),
            objectives_heading=_("Learning objectives covered"),
            objectives=tuple(CertificateObjective(o["code"], _localised(o["text"], locale))
                             for o in snap["objectives"]),
            place_and_date=(_("%(place)s, %(date)s", place=snap["place"], date=issued)
                            if snap["place"] else issued),
            signer_name=snap["signer_name"], signer_title=snap["signer_title"],
            code_label=_("Verification code"), code=display_code(certificate.code),
            verify_label=_("Check that this certificate is valid at"), verify_url=verify_url,
            title=_("%(heading)s: %(course)s, %(name)s", heading=heading, course=title,
                    name=snap["name"]),
            signed_line=signed_line(signer, verify_address) if signer else "",
        )

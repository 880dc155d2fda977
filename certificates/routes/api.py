"""The staff API for certificates: an offering's certificates, and revoking one with a reason.

The same loading (``routes.staff``: scoped to the token's office, another office's objects are
404), the same form rules for the reason (``forms.RevokeForm``) and the same service
(``services.revoke``, which publishes the revocation; the audit log subscribes) as the staff
pages. Whether a certificate is valid is ``rules.breaches``, as on the verification page.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field
from spectree import Response
from werkzeug.datastructures import MultiDict

from certificates import services as certs
from certificates.codes import display_code
from certificates.errors import CertificateError
from certificates.forms import RevokeForm
from certificates.models import Certificate
from certificates.printing import verify_url
from certificates.routes.staff import certificate_or_404, offering_or_404
from certificates.rules import Breach, breaches
from core.api.operations import staff
from core.api.problems import FieldProblem, Problem, problem
from core.api.spec import link, spec
from core.api.web import private_json
from core.db import get_session, utcnow
from core.routes import Routes
from enrollment.models import CourseOffering

routes = Routes()

TAGS = ["certificates"]
TOKEN = {"token": []}
# The rules a certificate can break, by their stored names (``rules.Breach``).
BreachName = Literal[tuple(b.value for b in Breach)]  # type: ignore[valid-type]


class CertificateOut(BaseModel):
    """A certificate of attendance as issued, and whether it is valid now."""

    id: int = Field(description="The certificate's id (for revokeCertificate).")
    enrollment_id: int = Field(description="The enrollment it was issued for.")
    code: str = Field(description="The verification code as printed, e.g. '7K3M9-QX2WP'.")
    participant_name: str = Field(description="The participant's name as the certificate "
                                               "states it.")
    issued_at: datetime = Field(description="When it was issued (or last issued again), "
                                            "ISO 8601 with offset.")
    issued_on: date = Field(description="The date of issue it states (in Oslo).")
    by_hand: bool = Field(description="Issued by staff decision rather than by the attendance "
                                      "rule.")
    revoked_at: datetime | None = Field(description="When it was revoked; null when it is not.")
    revoked_reason: str | None = Field(description="Why it was revoked, as the public "
                                                   "verification page shows it; null when it "
                                                   "is not revoked.")
    valid: bool = Field(description="Neither revoked nor breaking the time and completion "
                                    "rules: the verification page calls it valid.")
    breaches: list[BreachName] = Field(
        description="The time and completion rules it breaks: 'issued_early' (it states a day "
                    "that had not ended when it was issued), 'not_completed' (issued by the "
                    "rule without the rule met). Empty for a certificate that keeps them.")
    verify_url: str = Field(description="The public address of its verification page (the "
                                        "one its QR code holds).")


class CertificateList(BaseModel):
    """Every certificate issued for an offering, revoked ones too, in order of issue."""

    offering_id: int = Field(description="The offering.")
    items: list[CertificateOut] = Field(description="The certificates.")


class CertificateRevocation(BaseModel):
    """Why a certificate is revoked."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=certs.MAX_REASON,
                        description="Why: shown on the public verification page. Required, "
                                    "at most 2,000 characters once leading and trailing spaces "
                                    "are trimmed, without control characters (the staff "
                                    "page's rules).")


def certificate_out(certificate: Certificate, offering: CourseOffering) -> CertificateOut:
    """What the API says of ``certificate`` of ``offering``."""
    found = breaches(certificate, offering)
    return CertificateOut(
        id=certificate.id, enrollment_id=certificate.enrollment_id,
        code=display_code(certificate.code), participant_name=certificate.snapshot["name"],
        issued_at=certificate.issued_at,
        issued_on=date.fromisoformat(certificate.snapshot["issued_on"]),
        by_hand=bool(certificate.manual_reason), revoked_at=certificate.revoked_at,
        revoked_reason=certificate.revoked_reason if certificate.is_revoked else None,
        valid=not certificate.is_revoked and not found, breaches=[b.value for b in found],
        verify_url=verify_url(certificate.code))


@routes.get("/api/v1/offerings/<int:offering_id>/certificates")
@staff()
@spec.validate(resp=Response(HTTP_200=CertificateList, HTTP_401=Problem, HTTP_404=Problem),
               tags=TAGS, security=TOKEN, operation_id="listCertificates")
def api_list_certificates(offering_id: int):
    """The certificates of an offering

    Each certificate issued for the offering, revoked or not, with whether it is valid by the
    time and completion rules and the address that verifies it. An offering of another office
    is 404."""
    offering = offering_or_404(offering_id)
    return private_json(CertificateList(offering_id=offering.id, items=[
        certificate_out(c, offering) for c in certs.of_offering(get_session(), offering.id)]))


def _reason_problems(reason: str) -> list[FieldProblem]:
    """The staff revoke form's refusals of ``reason``, in the request's language."""
    form = RevokeForm(formdata=MultiDict({"reason": reason}), meta={"csrf": False})
    form.validate()
    return [FieldProblem(field="reason", message=str(message))
            for message in form.reason.errors]


@routes.post("/api/v1/certificates/<int:certificate_id>/revoke")
@staff(write=True)
@spec.validate(json=CertificateRevocation,
               resp=Response(HTTP_200=CertificateOut, HTTP_401=Problem, HTTP_403=Problem,
                             HTTP_404=Problem, HTTP_409=Problem, HTTP_422=Problem),
               tags=TAGS, security=TOKEN, operation_id="revokeCertificate")
def api_revoke_certificate(certificate_id: int, json: CertificateRevocation):
    """Revoke a certificate

    With a reason, which the public verification page shows from then on; the participant can
    no longer download it. Audited, as on the staff page. A certificate revoked already is a
    409 problem; one of another office 404."""
    certificate = certificate_or_404(certificate_id)
    errors = _reason_problems(json.reason)
    if errors:
        return problem(422, _("Some fields do not match the contract."), errors=errors)
    session = get_session()
    try:
        with session.begin_nested():
            certs.revoke(session, certificate.id, json.reason, actor=current_user, now=utcnow())
    except CertificateError as exc:
        return problem(exc.status, exc.message)
    return private_json(certificate_out(certificate_or_404(certificate_id),
                                        certificate.enrollment.offering))


link("listCertificates", 200, "revokeCertificate", "revokeCertificate",
     {"certificate_id": "$response.body#/items/0/id"})

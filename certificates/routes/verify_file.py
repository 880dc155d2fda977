"""Checking a certificate by its PDF file (``POST /verify/file``): the file's signature read in
the sandbox (``certificates.file_check``), and the certificate it names looked up, as the code
page does. The file is never stored or logged; a refused one is answered on the form page, with
the reason next to the field (400, or 413 when too large), never a 500."""

from __future__ import annotations

from flask import current_app, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from certificates import file_check
from certificates import services as certs
from certificates.codes import display_code
from certificates.errors import FileRefused
from certificates.forms import VerifyFileForm
from certificates.routes.verify import verdict, verify_page
from core.db import end_transaction, get_session
from core.limits import config_limit, limiter
from core.routes import Routes

routes = Routes()


def _refused(form: VerifyFileForm, error: FileRefused):
    form.file.errors = [*(form.file.errors or ()), error.message]
    return verify_page(file_form=form), error.status


@routes.post("/verify/file")
@limiter.limit(config_limit("VERIFY_UPLOAD_RATE_LIMIT"))
def check_certificate_file():
    """What the signature of an uploaded certificate says, and what our records say of the
    certificate it names (valid, revoked, not valid, or none)."""
    limit = current_app.config["CERTIFICATE_UPLOAD_MAX_BYTES"]
    # A request that says it is larger than the file may be is refused before it is read.
    request.max_content_length = limit + file_check.MULTIPART_ALLOWANCE
    too_large = FileRefused(code="too_large", limit=limit)
    try:
        form = VerifyFileForm()
    except RequestEntityTooLarge:
        return _refused(VerifyFileForm(formdata=None), too_large)
    if not form.validate_on_submit():
        return verify_page(file_form=form), 400
    upload = form.chosen_file()
    if upload is None:
        return _refused(form, FileRefused(code="no_file"))
    end_transaction(get_session())  # the sandbox takes most of a second: hold no transaction
    try:
        data = file_check.read_upload(upload.stream, limit)
        check = file_check.check_file(data, current_app)
    except FileRefused as error:
        return _refused(form, error)
    finally:
        upload.close()
    certificate = None
    if check.outcome == "ours" and check.code:
        certificate = certs.find_by_code(get_session(), check.code)
    return render_template(
        "certificates/verify_file_result.html", check=check,
        file_code=display_code(check.code) if check.code else None,
        **(verdict(certificate) if certificate is not None else {}))

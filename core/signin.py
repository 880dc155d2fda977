"""Staff sign-in: the password, then the second factor (or its first set-up), the sign-in
throttle, logging out, and the list of one's own sessions with "log out all my sessions".

A person whose password was right but who has not given the second factor yet is *not* logged
in: the cookie holds only a short-lived pending mark (account id and time), which opens the
second-factor pages and nothing else. Only then is a server-side session row made
(``core.staff_sessions``) and Flask-Login told. At each step the cookie session is cleared
first (no session fixation), which also rotates the CSRF token.
"""

from __future__ import annotations

import time
from datetime import timedelta

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie_session
from flask_babel import format_timedelta, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from core import staff_sessions, throttle, two_factor
from core.auth import (
    SESSION_KEY,
    StaffUser,
    authenticate,
    session_limits,
    staff_required,
)
from core.db import get_session, utcnow
from core.forms import AppForm
from core.staff import LoginForm, bp, register_nav, staff_home_url
from core.transaction import keep_when_refused
from core.web import no_store, safe_next

PENDING_KEY = "staff_2fa"
PENDING_MAX_AGE = 600  # seconds between the password and the second factor


class CodeForm(AppForm):
    """The six-digit code from the app, or a recovery code."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(message=_l("Enter the code.")), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text",
                   "autocapitalize": "off", "spellcheck": "false"},
    )


class SetupForm(AppForm):
    """The first code from the newly set-up app."""

    code = StringField(
        _l("Code from the app"),
        validators=[DataRequired(message=_l("Enter the code.")), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class ButtonForm(AppForm):
    """A button; the CSRF token is its only field."""


# --- the throttle -----------------------------------------------------------------------------


def _rules(email: str) -> dict[str, throttle.Rule]:
    config = current_app.config
    forget = timedelta(hours=float(config["LOGIN_THROTTLE_FORGET_HOURS"]))
    base, cap = float(config["LOGIN_THROTTLE_BASE_SECONDS"]), float(
        config["LOGIN_THROTTLE_MAX_SECONDS"])
    return {
        throttle.account_key(email): throttle.Rule(
            int(config["LOGIN_THROTTLE_ACCOUNT_FREE"]), base, cap, forget),
        throttle.address_key(request.remote_addr): throttle.Rule(
            int(config["LOGIN_THROTTLE_ADDRESS_FREE"]), base, cap, forget),
    }


def _wait(email: str) -> int:
    return throttle.wait_seconds(get_session(), list(_rules(email)))


def _count_failure(email: str) -> None:
    """Count a failed attempt against the address and the account; kept although the answer
    is a refusal (4xx)."""
    throttle.record_failure(get_session(), _rules(email))
    keep_when_refused()


def _throttled(template: str, form, wait: int, **context):
    """429 with Retry-After and, next to the form, when to try again."""
    when = format_timedelta(timedelta(seconds=wait), granularity="second", add_direction=True)
    form.errors  # noqa: B018  (WTForms builds the errors dict on first read)
    message = _("Too many failed attempts. You can try again %(when)s.", when=when)
    response = current_app.make_response(
        (render_template(template, form=form, throttle_message=message, **context), 429))
    response.headers["Retry-After"] = str(wait)
    return no_store(response)


# --- the steps --------------------------------------------------------------------------------


def _fresh_cookie_session() -> None:
    """Forget everything the cookie session held, the CSRF token included (no fixation)."""
    cookie_session.clear()
    g.pop("csrf_token", None)  # Flask-WTF's per-request copy of the token


def _pending_user() -> StaffUser | None:
    pending = cookie_session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_MAX_AGE:
        return None
    user = get_session().get(StaffUser, pending.get("uid"))
    return user if user is not None and user.active else None


def _next() -> str:
    pending = cookie_session.get(PENDING_KEY) or {}
    return safe_next(pending.get("next"), staff_home_url())


def _complete(user: StaffUser) -> str:
    """Log ``user`` in with a new server-side session; returns where to go next."""
    target = _next()
    session = get_session()
    token = staff_sessions.start(session, user.id, user_agent=request.user_agent.string,
                                 address=request.remote_addr)
    throttle.clear(session, throttle.account_key(user.email))
    user.last_login_at = utcnow()
    _fresh_cookie_session()
    cookie_session[SESSION_KEY] = token
    g.staff_session_user = user.id
    login_user(user)
    return target


def _password_accepted(user: StaffUser):
    """After the right password: ask for the second factor, set it up, or (debug only, with
    two-factor sign-in switched off) log in."""
    next_url = request.args.get("next")
    enrolled = two_factor.is_enrolled(user)
    _fresh_cookie_session()
    cookie_session[PENDING_KEY] = {"uid": user.id, "at": int(time.time()), "next": next_url}
    if enrolled:
        return redirect(url_for("staff.second_factor"))
    if current_app.config["STAFF_TWO_FACTOR_REQUIRED"]:
        two_factor.begin_enrolment(user, current_app.config["SECRET_KEY"])
        return redirect(url_for("staff.set_up_second_factor"))
    return redirect(_complete(user))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in, first step: one message for a wrong password and an unknown e-mail alike."""
    form = LoginForm()
    if request.method == "POST" and isinstance(request.form.get("email"), str):
        wait = _wait(request.form["email"])
        if wait:
            return _throttled("staff/login.html", form, wait)
    if form.validate_on_submit():
        user = authenticate(get_session(), form.email.data, form.password.data)
        if user is not None:
            return _password_accepted(user)
        _count_failure(form.email.data)
        form.password.errors = [_("Wrong e-mail or password, or the account is deactivated.")]
    status = 400 if form.errors else 200
    return no_store(current_app.make_response(
        (render_template("staff/login.html", form=form), status)))


def _csrf_refused(form) -> bool:
    """A POST whose CSRF token is missing or forged (checked before anything else, so such a
    request is a 400 whatever the state of the sign-in)."""
    return (request.method == "POST" and form.meta.csrf
            and not form.csrf_token.validate(form))


def _start_again():
    flash(_("Please log in again."), "error")
    return redirect(url_for("staff.login"))


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():
    """Log in, second step: the code from the app, or one of the recovery codes."""
    if _csrf_refused(CodeForm()):
        abort(400)
    user = _pending_user()
    if user is None:
        return _start_again()
    if not two_factor.is_enrolled(user):
        return redirect(url_for("staff.set_up_second_factor"))
    form = CodeForm()
    if request.method == "POST":
        wait = _wait(user.email)
        if wait:
            return _throttled("staff/login_code.html", form, wait)
    if form.validate_on_submit():
        session = get_session()
        try:
            accepted = two_factor.verify(session, user, form.code.data,
                                         current_app.config["SECRET_KEY"])
        except two_factor.SecretUnreadable:
            form.code.errors = [_("Your second factor cannot be read. Ask an administrator to "
                                  "reset it.")]
            return no_store(current_app.make_response(
                (render_template("staff/login_code.html", form=form), 400)))
        if accepted is not None:
            if accepted == "recovery":
                left = two_factor.recovery_codes_left(session, user.id)
            target = _complete(user)
            if accepted == "recovery":
                flash(ngettext("You used a recovery code. You have %(num)d left.",
                               "You used a recovery code. You have %(num)d left.", left),
                      "success")
            return redirect(target)
        _count_failure(user.email)
        form.code.errors = [_("The code is wrong or has been used. Try the next code from the "
                              "app.")]
    status = 400 if form.errors else 200
    return no_store(current_app.make_response(
        (render_template("staff/login_code.html", form=form), status)))


@bp.route("/login/setup", methods=["GET", "POST"])
def set_up_second_factor():
    """First sign-in: the QR code of a new secret, confirmed with a code from the app; then
    the recovery codes, shown this once."""
    if _csrf_refused(SetupForm()):
        abort(400)
    user = _pending_user()
    if user is None:
        return _start_again()
    if two_factor.is_enrolled(user):
        return redirect(url_for("staff.second_factor"))
    key = current_app.config["SECRET_KEY"]
    try:
        secret = two_factor.secret_of(user, key)
    except two_factor.SecretUnreadable:
        return _start_again()
    form = SetupForm()
    if request.method == "POST":
        wait = _wait(user.email)
        if wait:
            return _throttled("staff/setup.html", form, wait, **_setup_context(user, secret))
    if form.validate_on_submit():
        session = get_session()
        codes = two_factor.confirm_enrolment(session, user, form.code.data, key)
        if codes is not None:
            target = _complete(user)
            return no_store(current_app.make_response(
                render_template("staff/recovery_codes.html", codes=codes, target=target)))
        _count_failure(user.email)
        form.code.errors = [_("The code is wrong. Check the time on your phone and try the "
                              "next code.")]
    status = 400 if form.errors else 200
    return no_store(current_app.make_response(
        (render_template("staff/setup.html", form=form, **_setup_context(user, secret)),
         status)))


def _setup_context(user: StaffUser, secret: str) -> dict:
    uri = two_factor.provisioning_uri(user, secret)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return {"qr": two_factor.qr_data_uri(uri), "secret": grouped}


# --- logging out --------------------------------------------------------------------------------


@bp.post("/logout")
def logout():
    """Log out (a POST with a CSRF token, so another site cannot log staff out); the session's
    row is ended, so a copy of the cookie no longer works either."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    staff_sessions.end(get_session(), cookie_session.get(SESSION_KEY))
    logout_user()
    _fresh_cookie_session()
    flash(_("You are logged out."), "success")
    return redirect(url_for("staff.login"))


@bp.get("/my-sessions")
@staff_required
def my_sessions():
    """The sessions one is logged in with, and a button to end them all."""
    session = get_session()
    rows = staff_sessions.active(session, current_user.id, session_limits())
    current = staff_sessions.token_hash(cookie_session.get(SESSION_KEY, ""))
    return render_template("staff/sessions.html", rows=rows, current=current, form=ButtonForm())


@bp.post("/my-sessions/end-all")
@staff_required
def end_all_sessions():
    """Log out every session of one's own, this one included (a lost laptop, a shared PC)."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    staff_sessions.end_everywhere(get_session(), current_user._get_current_object())
    logout_user()
    _fresh_cookie_session()
    flash(_("All your sessions are logged out, this one too."), "success")
    return redirect(url_for("staff.login"))


def init_app(app: Flask) -> None:
    """The throttle's settings and the sessions page in the staff navigation."""
    register_nav(app, "staff.my_sessions", _l("My sessions"))

"""Fuzzing every public and staff form with Hypothesis.

Each test builds the app once and sends generated submissions to one form: arbitrary unicode
(control characters, NUL, RTL marks, emoji), strings up to 100 kB, valid values with NULs and
control characters spliced in, missing fields, repeated fields, numbers where text is expected
and text where numbers are, unknown extra fields (some of them files), rows at odd indices, and
raw and JSON bodies. Most submissions start from a valid one and break one field, some break
many, some none, so the success path is exercised as well as the refusals.

The properties, for every submission:

- the answer is never a 5xx;
- a refusal (4xx, or 200 showing the form again) shows a field error or the error summary;
- nothing is half-written: the rows a form changes change only when it answers with success.

How many: ``FUZZ_EXAMPLES`` per form, 50 by default, in CI too, within a time budget of
``FUZZ_SECONDS`` per form (5 by default; 0 for none), whichever ends first: ``make test`` must
stay under six minutes on a busy 2-CPU machine, and a form that is slow there sends fewer
submissions rather than nearing its timeout. Quiet, every form reaches its count in a few
seconds. ``make test-long`` runs 2,000 a form with no budget (some seven minutes for this module
alone). PostgreSQL runs a tenth as many (see ``run_fuzz``). The counts, and which forms the
budget stopped, are printed at the end of the run (tests/timing.py, also under pytest-xdist).

CSRF and rate limits are off here (``app_config``); they have tests of their own.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.security import generate_password_hash

import core.auth
from core.audit import AuditEvent
from core.auth import StaffUser
from core.db import session_scope, utcnow
from core.mail import OutboxMessage
from core.models import County
from enrollment.models import (
    CourseKind,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    LearningObjective,
    ManageLink,
    Participant,
    Role,
)
from enrollment.services import enrollments, links
from enrollment.services.cohorts import cohort_code
from refunds.models import COST_KINDS, Claim, ClaimLine, Receipt, TravelMeans
from tests.conftest import STAFF_PASSWORD
from tests.refunds_factories import attend, load_rates

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 50)
# Seconds of generating per form; "0" is no budget (make test-long).
BUDGET = float(os.environ.get("FUZZ_SECONDS") or 5)
EN = {"Accept-Language": "en"}
REFUSAL_MARKERS = ('field-errors"', 'id="error-summary"')
BAD_REQUEST_PAGE = "<h1>Something in the request was wrong</h1>"


# --- what is sent ---------------------------------------------------------------------------------

MISSING = object()


class Upload(NamedTuple):
    """A file sent where the form expects text."""

    content: bytes
    filename: str


NASTY = [
    "", " ", "\x00", "a\x00b", "\u202e", "\u200f\u200e", "\ufeff", "\u2028", "\x1b[31m",
    "\r\n", "\t", "💥", "👩‍⚕️", "Ω≈ç√∫", "ÆØÅ æøå", "\U0010fffd", "\ufffd", "\uffff",
    "<script>alert(1)</script>", "\"'><img src=x onerror=alert(1)>", "{{7*7}}", "%s%s%n",
    "' OR '1'='1' --", "../../../../etc/passwd", "/manage/lost-link", "null", "None", "[]",
    "{}", "true", "y", "on", "0", "-1", "1e309", "NaN", "-0", "0x1F", "99999999999999999999",
    "١٢٣٤٥٦٧", "𝟙𝟚𝟛𝟜𝟝𝟞𝟟", "１２３４５６７", "2026-02-30T25:61", "0000-00-00", "9999-12-31T23:59",
    "00:00", "24:00", "2026-03", "2026-13", "lis1 ", "LIS1", "nn\x00", "a@b", "@", "a@b.c@d.e",
]
# Strings up to 100 kB: a short piece repeated (generating them freely would be slow). Most are
# a few kB; one in eight is 100 kB, since parsing those costs some 50 ms a request.
SIZES = st.sampled_from([201, 256, 501, 1_001, 2_001, 5_001, 10_001, 100_000])
HUGE = st.builds(lambda piece, size: (piece * (size // len(piece) + 1))[:size],
                 st.sampled_from(["a", "9", " ", "é", "💥", "\x00", "a\u202e", "<b>"]), SIZES)
# A file, sent under a field's name or any other (core.forms.AppForm gives files only to file
# fields, so a text field it lands in is simply missing).
UPLOADS = st.builds(Upload, st.binary(max_size=40),
                    st.sampled_from(["a.txt", "../../x.pdf", "b\x00.png", "", "💥.exe"]))
# One value of the wrong kind for any field.
WRONG = st.one_of(
    UPLOADS,
    st.text(max_size=40),
    st.text(st.characters(categories=["Cc", "Cf", "Co", "Zl", "Zp", "Zs", "Mn", "So"]),
            max_size=12),
    st.sampled_from(NASTY),
    st.lists(st.sampled_from(NASTY), min_size=2, max_size=5).map("".join),
    HUGE,
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats().map(repr),
)
EXTRA_NAMES = st.one_of(
    st.sampled_from(["id", "status", "is_admin", "county_id", "seats_taken", "csrf_token",
                     "__class__", "", "email[]", "role\x00"]),
    st.text(min_size=1, max_size=20),
)
RAW_BODIES = st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode))
RAW_TYPES = st.sampled_from([
    "application/json", "text/plain", "application/xml", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz", "multipart/form-data", "application/octet-stream",
])
JSON_TYPES = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "application/problem+json"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
SPLICES = st.sampled_from(["\x00", "\x00", "\x00\x00", "\x01", "\x7f", "\u202e", "\u200b", "\ufeff",
                          "\n", "\r\n", "\t", "💥", "<", "\"", "'", "%", "\\", " ", "\u00a0"])


def spliced(valid: st.SearchStrategy) -> st.SearchStrategy[str]:
    """A valid value with something hostile put in it: what slips past the checks that look at
    the shape of the whole value (a NUL inside an address that PostgreSQL then refuses)."""
    return st.builds(lambda value, piece, at: value[:at] + piece + value[at:],
                     valid.filter(lambda v: isinstance(v, str)), SPLICES, st.integers(0, 40))


MODES = st.sampled_from(["one", "valid", "some", "one", "all", "raw", "json"])
SHUFFLE = st.randoms(use_true_random=False)


class Submission(NamedTuple):
    """A form body (a MultiDict, possibly with files) or a raw body with a content type."""

    fields: list[tuple[str, object]]
    raw: bytes | None = None
    content_type: str | None = None

    def send(self, client, url: str, **kwargs):
        """POST it to ``url``."""
        if self.raw is not None:
            return client.post(url, data=self.raw, content_type=self.content_type, **kwargs)
        data = MultiDict()
        for name, value in self.fields:
            data.add(name, (io.BytesIO(value.content), value.filename)
                     if isinstance(value, Upload) else value)
        return client.post(url, data=data, **kwargs)

    def first(self, name: str):
        """The first value sent for ``name`` (what WTForms reads), or MISSING."""
        return next((value for key, value in self.fields if key == name), MISSING)


def submissions(valid: dict[str, st.SearchStrategy]) -> st.SearchStrategy[Submission]:
    """Submissions of the form whose valid values are ``valid``, with some fields broken:
    wrong, missing or repeated, plus unknown extra fields; or a raw or JSON body."""
    names = list(valid)
    # Half of the broken values are valid ones with something spliced in (deferred() keeps
    # one_of from flattening the other kinds into many branches of equal weight).
    broken = {name: st.one_of(
        st.deferred(lambda strategy=strategy: st.one_of(
            WRONG, st.just(MISSING),
            st.lists(st.one_of(strategy, WRONG), min_size=2, max_size=4))),
        spliced(strategy)) for name, strategy in valid.items()}
    extras = st.lists(st.tuples(EXTRA_NAMES.filter(lambda n: n not in valid),
                                st.one_of(WRONG, UPLOADS)), max_size=3)
    json_bodies = st.one_of(st.dictionaries(st.one_of(st.sampled_from(names), EXTRA_NAMES),
                                            JSON_VALUES, max_size=len(names) + 2), JSON_VALUES)
    one_name, some_names = st.sampled_from(names), st.sets(st.sampled_from(names), min_size=1)

    @st.composite
    def submission(draw) -> Submission:
        mode = draw(MODES)
        if mode == "raw":
            return Submission([], raw=draw(RAW_BODIES), content_type=draw(RAW_TYPES))
        if mode == "json":  # what Flask-WTF would read as form data, with values of any type
            return Submission([], raw=json.dumps(draw(json_bodies)).encode(),
                              content_type=draw(JSON_TYPES))
        if mode == "valid":
            to_break = set()
        elif mode == "one":
            to_break = {draw(one_name)}
        elif mode == "some":
            to_break = draw(some_names)
        else:
            to_break = set(names)
        fields: list[tuple[str, object]] = []
        for name in names:
            value = draw(broken[name] if name in to_break else valid[name])
            fields += [(name, item) for item in (value if isinstance(value, list) else [value])
                       if item is not MISSING]
        if mode != "valid":
            fields += draw(extras)
            draw(SHUFFLE).shuffle(fields)
        return Submission(fields)

    return submission()


# --- valid values ---------------------------------------------------------------------------------

# Built from lists and numbers rather than regular expressions: drawing them is cheaper.
NAMES = st.builds("{} {}".format, st.sampled_from(["Kari", "Ola", "Åse", "Øystein", "Ærling",
                                                   "Zoë", "Jean-Luc", "Siri Marie"]),
                  st.sampled_from(["Nordmann", "Ødegård", "Berg-Hansen", "O'Brien", "Ås"]))
EMAILS = st.one_of(
    st.builds("p{}@example.org".format, st.integers(0, 10**9)),
    st.builds("{}.{}@{}".format, st.sampled_from(["kari", "ola", "Åse", "x_y+z"]),
              st.integers(0, 999), st.sampled_from(["example.no", "kommune.no", "xn--b-5ga.no"])),
    st.emails(),
)
PHONES = st.builds(lambda prefix, number: f"{prefix}{number // 100000} {number % 100000:05d}",
                   st.sampled_from(["", "+47 ", "+47"]), st.integers(40_000_000, 99_999_999))
HPR = st.integers(1_000_000, 999_999_999).map(str)
WORDS = st.sampled_from(["Bergen kommune", "Legevakta i Os", "Helse Førde (sjukehus)",
                         "Kommune 4601", "Ål kommune, avd. B", "St. Olavs hospital"])
LOCALES = st.sampled_from(["nn", "nb", "en"])
OPTIONAL_TEXT = st.one_of(st.just(""), WORDS, st.just(MISSING))
CHECKBOX = st.sampled_from(["y", MISSING])


def moments(fmt: str = "%Y-%m-%dT%H:%M") -> st.SearchStrategy[str]:
    """Local date-times as a datetime-local input sends them."""
    return st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)).map(
        lambda d: d.strftime(fmt))


# --- running and checking -------------------------------------------------------------------------


class Outcome(NamedTuple):
    """What the app answered, as the checks see it."""

    status: int
    accepted: bool


class BudgetSpent(BaseException):
    """Raised from inside a fuzzing run when its time budget is spent, to stop Hypothesis.

    Hypothesis has no time budget of its own (its ``timeout`` setting was removed in 4.0;
    ``deadline`` limits one example, not a run), and no public way to end generation early.
    So the example function raises this after an example has run and been counted, once the
    budget is spent. It derives from BaseException, not Exception: Hypothesis reads an
    Exception (or pytest's Failed) as a failing example and starts shrinking it, but lets any
    other BaseException through at once, as it does KeyboardInterrupt. ``run_fuzz`` catches it
    right outside the run. (Hypothesis then notes a seed "to reproduce this failure" in the
    test's captured output, which only shows if the test fails for another reason.)
    """


@pytest.fixture
def run_fuzz(request) -> Callable[[str, st.SearchStrategy, Callable[..., Outcome]], None]:
    """Run an example function on generated submissions, counting them per form and database.

    Generation stops at the example count or when the ``FUZZ_SECONDS`` budget is spent,
    whichever comes first; either way the test fails if no example ran (a budget is not a
    skip), and the count goes into the run's report (``fuzz`` in the test's user properties,
    printed by tests/timing.py at the end).

    PostgreSQL gets a tenth of the examples (at least 20; 200 in make test-long): SQLite
    carries the full count, and the run on PostgreSQL is there for what only PostgreSQL refuses
    (NUL characters in text, stricter types), which the spliced-in NULs reach within a few dozen
    examples a run. The full count on both would add minutes to make test for little more.
    """
    database = request.node.callspec.params.get("database_url", "sqlite")
    examples = min(EXAMPLES, max(20, EXAMPLES // 10)) if database == "postgresql" else EXAMPLES

    def run(form: str, strategy: st.SearchStrategy, example: Callable[..., Outcome]) -> None:
        runs: Counter = Counter()
        started = time.monotonic()

        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture,
                                         HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.large_base_example])
        @given(strategy)
        def fuzz(submission) -> None:
            outcome = example(submission)
            runs["examples"] += 1
            runs[f"{'accepted' if outcome.accepted else 'refused'} {outcome.status}"] += 1
            if BUDGET and time.monotonic() - started >= BUDGET:
                raise BudgetSpent

        stopped = ""
        try:
            fuzz()
        except BudgetSpent:
            stopped = f", stopped by the {BUDGET:g} s budget"
        finally:
            outcomes = ", ".join(f"{key} {value}" for key, value in sorted(runs.items())
                                 if key != "examples")
            request.node.user_properties.append((
                "fuzz", f"{form} [{database}]: {runs['examples']} of {examples} examples in "
                        f"{time.monotonic() - started:.1f} s{stopped} ({outcomes})"))
        assert runs["examples"] > 0, f"{form}: no example ran within the budget"

    return run


def check(response, accepted: bool, submission: Submission, *,
          refusal_markers=REFUSAL_MARKERS) -> Outcome:
    """Never a 5xx; a refusal shows the form again with an error.

    A body no form sends (JSON, or a content type the form does not use) may instead get the
    "something in the request was wrong" page: there is no form of the person's to show again.
    """
    status = response.status_code
    body = response.get_data(as_text=True)
    assert status < 500, body[:2000]
    if not accepted:
        assert status == 200 or 400 <= status < 500, status
        if submission.raw is not None and status == 400 and BAD_REQUEST_PAGE in body:
            return Outcome(status, accepted)
        assert any(marker in body for marker in refusal_markers), (status, body[:3000])
        assert "<form" in body, body[:3000]
    return Outcome(status, accepted)


class Snapshots:
    """The rows a form may change, read before and after each example on one connection.

    The state after one example is the state before the next, so it is read once per example;
    after an example that raised, it is read afresh.
    """

    def __init__(self, engine, read: Callable):
        self.engine, self.read, self.last = engine, read, None

    def _read(self):
        with self.engine.connect() as conn:
            return self.read(conn)

    def before(self):
        """The state before this example."""
        value, self.last = (self.last if self.last is not None else self._read()), None
        return value

    def after(self):
        """The state after this example."""
        self.last = self._read()
        return self.last


def counts(conn, *models) -> tuple[int, ...]:
    """How many rows each model's table holds, in one statement."""
    return tuple(conn.execute(sa.select(*[
        sa.select(sa.func.count()).select_from(m).scalar_subquery() for m in models])).one())


def local_redirect(response) -> bool:
    """A redirect to a path on this site (never to another host)."""
    location = response.headers.get("Location", "")
    parts = urlsplit(location)
    return (response.status_code in (302, 303) and not parts.scheme and not parts.netloc
            and location.startswith("/") and not location.startswith("//"))


@pytest.fixture
def fuzz_config(app_config):
    """Quiet request logs: thousands of lines otherwise."""
    app_config["LOG_LEVEL"] = "WARNING"
    return app_config


# --- public forms ---------------------------------------------------------------------------------


def enroll_directly(app, offering, email: str, hpr: str = "7654321") -> str:
    """A LIS1 doctor's enrollment made through the service layer; returns its manage token."""
    person = enrollments.PersonDetails(
        full_name="Kari Nordmann", email=email, phone="412 34 567", role=Role.LIS1,
        hpr_number=hpr, employer="Bergen kommune", locale="en", start_month=offering.cohort)
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        return enrollments.enroll(session, offering.id, person, utcnow()).token


def test_fuzz_enrollment_form(fuzz_config, run_fuzz, app, client, make_offering):
    offering = make_offering(capacity=3)
    url = f"/courses/{offering.id}/enroll"
    months = [f"{offering.cohort.year + dy}-{m:02d}" for dy in (-1, 0, 1) for m in (3, 9)]
    valid = {
        "full_name": NAMES, "email": EMAILS, "phone": PHONES,
        "role": st.sampled_from(["lis1", "lis1", "lis1", "supervisor", "physio_intern"]),
        "hpr_number": HPR, "employer": WORDS, "start_month": st.sampled_from(months),
        "needs": OPTIONAL_TEXT, "locale": LOCALES, "consent": st.just("y"),
    }
    seats = sa.select(CourseOffering.seats_taken).where(CourseOffering.id == offering.id)
    snapshots = Snapshots(app.extensions["kp_engine"], lambda conn: (
        *counts(conn, Participant, Enrollment, OutboxMessage), conn.scalar(seats)))

    def example(submission: Submission) -> Outcome:
        before = snapshots.before()
        response = submission.send(client, url, headers=EN)
        after = snapshots.after()
        accepted = response.status_code == 302 and response.headers["Location"].endswith(
            f"/courses/{offering.id}/enrolled")
        outcome = check(response, accepted, submission)
        if accepted and after[1] == before[1]:
            # Already enrolled: the same answer as a new enrollment; the holder gets a mail
            # with a fresh link, and nothing else is stored.
            assert after == (before[0], before[1], before[2] + 1, before[3])
        elif accepted:  # one participant, one enrollment, one mail; seats never beyond capacity
            assert after[:3] == (before[0] + 1, before[1] + 1, before[2] + 1)
            assert before[3] <= after[3] <= 3
        else:
            assert after == before
        return outcome

    run_fuzz("enrollment", submissions(valid), example)


def test_fuzz_manage_contact_update(fuzz_config, run_fuzz, app, client, make_offering):
    offering = make_offering()
    token = enroll_directly(app, offering, "kari@example.org")
    enroll_directly(app, offering, "ola@example.org", "7654322")  # an address Kari may not take
    url = f"/manage/{token}/contact"
    valid = {
        "full_name": NAMES,
        "email": st.one_of(EMAILS, st.sampled_from(["ola@example.org", " OLA@example.org "])),
        "phone": PHONES, "employer": WORDS, "needs": OPTIONAL_TEXT, "locale": LOCALES,
    }
    own = (sa.select(Participant.full_name, Participant.email, Participant.phone,
                     Participant.employer, Participant.locale, Enrollment.needs)
           .join(Enrollment.participant)
           .join(ManageLink, ManageLink.enrollment_id == Enrollment.id)
           .where(ManageLink.token_hash == links.hash_token(token)))
    snapshots = Snapshots(app.extensions["kp_engine"], lambda conn: (
        *counts(conn, Participant, Enrollment), *conn.execute(own).one()))

    def example(submission: Submission) -> Outcome:
        before = snapshots.before()
        response = submission.send(client, url, headers=EN)
        after = snapshots.after()
        accepted = response.status_code == 302 and response.headers["Location"].endswith(
            f"/manage/{token}")
        outcome = check(response, accepted, submission)
        assert after[:2] == before[:2]
        if accepted:
            assert after[2] == submission.first("full_name").strip()
        else:
            assert after == before
        return outcome

    run_fuzz("manage contact update", submissions(valid), example)


def test_fuzz_lost_link_resend(fuzz_config, run_fuzz, app, client, make_offering):
    offering = make_offering()
    enroll_directly(app, offering, "kari@example.org")
    valid = {"email": st.one_of(EMAILS, st.sampled_from(
        ["kari@example.org", "KARI@example.org", " kari@example.org\t"]))}
    hashes = sa.select(ManageLink.token_hash).order_by(ManageLink.id)
    snapshots = Snapshots(app.extensions["kp_engine"], lambda conn: (
        *counts(conn, OutboxMessage), tuple(conn.scalars(hashes))))

    def example(submission: Submission) -> Outcome:
        before = snapshots.before()
        response = submission.send(client, "/manage/lost-link", headers=EN)
        after = snapshots.after()
        accepted = response.status_code == 200 and 'role="status"' in response.get_data(
            as_text=True)
        outcome = check(response, accepted, submission)
        if accepted and after != before:  # a known address: one mail, one more link
            assert after[0] == before[0] + 1
            assert after[1] != before[1]
        else:
            assert after == before
        return outcome

    run_fuzz("lost link re-send", submissions(valid), example)


# --- staff forms ----------------------------------------------------------------------------------


@pytest.fixture
def cheap_password_hashes(app, monkeypatch):
    """Staff passwords hashed with few pbkdf2 rounds instead of scrypt (0.1 s per check), so
    thousands of login attempts take seconds; the code path is the same."""
    cheap = "pbkdf2:sha256:1000"
    monkeypatch.setattr(core.auth, "_DUMMY_HASH", generate_password_hash("dummy", cheap))
    with session_scope(app.extensions["kp_engine"]) as session:
        for user in session.scalars(sa.select(StaffUser)):
            user.password_hash = generate_password_hash(STAFF_PASSWORD, cheap)


def staff_client(request, make_staff, login, email: str, **kwargs) -> None:
    """Create a staff account with a cheap hash and log the test client in."""
    make_staff(email, **kwargs)
    request.getfixturevalue("cheap_password_hashes")
    login(email)


NEXT_URLS = st.one_of(st.just(MISSING), st.sampled_from(
    ["/staff/courses", "//evil.example", "https://evil.example/", "/\\evil.example",
     "javascript:alert(1)", "/%0d%0aSet-Cookie:x=1", "\x00/", "/staff/\r\nX: y"]),
    st.text(max_size=30))


def test_fuzz_staff_login(fuzz_config, run_fuzz, app, client, make_staff, request):
    make_staff("kari@sfvl.no")
    request.getfixturevalue("cheap_password_hashes")
    # Thousands of wrong passwords from one address: the sign-in throttle would answer 429 to
    # nearly all of them (tests/test_staff_sessions.py tests it); here the form is the subject.
    app.config.update(LOGIN_THROTTLE_ACCOUNT_FREE=10**9, LOGIN_THROTTLE_ADDRESS_FREE=10**9)
    valid = {
        "email": st.sampled_from(["kari@sfvl.no", " KARI@sfvl.no ", "ola@sfvl.no"]),
        "password": st.one_of(st.just(STAFF_PASSWORD), st.text(min_size=1, max_size=30)),
    }
    snapshots = Snapshots(app.extensions["kp_engine"],
                          lambda conn: counts(conn, StaffUser, AuditEvent))

    def example(attempt: tuple[Submission, object]) -> Outcome:
        submission, next_url = attempt
        before = snapshots.before()
        query = {} if next_url is MISSING else {"next": next_url}
        response = submission.send(client, "/staff/login", query_string=query, headers=EN)
        assert snapshots.after() == before
        accepted = local_redirect(response)  # success goes only to a path on this site
        outcome = check(response, accepted, submission)
        if accepted:
            client.post("/staff/logout")
        return outcome

    run_fuzz("staff login", st.tuples(submissions(valid), NEXT_URLS), example)


def offering_fields(app, *, with_county: bool) -> dict[str, st.SearchStrategy]:
    """Valid values of the offering editor."""
    with session_scope(app.extensions["kp_engine"]) as session:
        kinds = [str(i) for i in session.scalars(sa.select(CourseKind.id))]
        counties = [str(i) for i in session.scalars(sa.select(County.id))]
    year = utcnow().year
    cohorts = [cohort_code(date(y, m, 1)) for y in range(year - 1, year + 3) for m in (3, 9)]
    fields = {
        "kind": st.sampled_from(kinds),
        "cohort": st.sampled_from(cohorts),
        "title_nn": OPTIONAL_TEXT, "description_nn": OPTIONAL_TEXT,
        "title_nb": OPTIONAL_TEXT, "description_nb": OPTIONAL_TEXT,
        "title_en": OPTIONAL_TEXT, "description_en": OPTIONAL_TEXT,
        "venue": OPTIONAL_TEXT,
        "capacity": st.integers(1, 1000).map(str),
        "enroll_opens_at": moments(),
        "enroll_closes_at": st.one_of(moments(), moments("%Y-%m-%d %H:%M")),
        "cancel_deadline": st.one_of(st.just(""), moments()),
        "requires_approval": CHECKBOX, "refund_eligible": CHECKBOX,
        "min_share_percent": st.integers(1, 100).map(str),
        "signer_name": OPTIONAL_TEXT, "signer_title": OPTIONAL_TEXT,
        "reminder_days": st.integers(0, 60).map(str),
        "meeting_url": st.one_of(st.just(""), st.just("https://meet.example.no/kurs-42")),
        "offers_expire": CHECKBOX, "offer_hours": st.integers(1, 336).map(str),
    }
    if with_county:
        fields["county"] = st.sampled_from(counties)
    return fields


OFFERING_ROWS = sa.select(*[c for c in CourseOffering.__table__.columns
                            if c.name != "updated_at"]).order_by(CourseOffering.id)
SESSION_ROWS = sa.select(CourseSession.__table__).order_by(CourseSession.id)


def test_fuzz_offering_editor(fuzz_config, run_fuzz, app, client, make_staff, make_offering,
                              login, request):
    """New course, edit course (with a participant enrolled) and add a course day, in one run,
    as an administrator (whose form also has the office); another office's course stays as it
    was."""
    staff_client(request, make_staff, login, "admin@sfvl.no", admin=True)
    offering = make_offering()
    make_offering(county="rogaland")  # another office's course, which nothing may touch
    enroll_directly(app, offering, "kari@example.org")
    edit_url = f"/staff/courses/{offering.id}/edit"
    targets = {
        "/staff/courses/new": offering_fields(app, with_county=True),
        edit_url: offering_fields(app, with_county=False) | {
            "county": st.sampled_from([str(offering.county_id)])},
        f"/staff/courses/{offering.id}/sessions/new": {
            "day": st.dates(date(2024, 1, 1), date(2030, 12, 31)).map(date.isoformat),
            "starts": st.times().map(lambda t: t.strftime("%H:%M")),
            "ends": st.times().map(lambda t: t.strftime("%H:%M")),
            "place": OPTIONAL_TEXT,
        },
    }
    strategy = st.one_of(*[st.tuples(st.just(url), submissions(valid))
                           for url, valid in targets.items()])
    snapshots = Snapshots(app.extensions["kp_engine"], lambda conn: (
        [tuple(r) for r in conn.execute(OFFERING_ROWS)],
        [tuple(r) for r in conn.execute(SESSION_ROWS)],
        counts(conn, Enrollment)))

    def example(target: tuple[str, Submission]) -> Outcome:
        url, submission = target
        before = snapshots.before()
        response = submission.send(client, url, headers=EN)
        offerings, sessions, enrollments = after = snapshots.after()
        location = response.headers.get("Location", "")
        accepted = response.status_code == 302 and location.endswith("/edit")
        outcome = check(response, accepted, submission)
        assert enrollments == before[2]
        if not accepted:
            assert after == before
        elif url.endswith("/new") and "sessions" not in url:
            assert offerings[:-1] == before[0]
            assert len(offerings) == len(before[0]) + 1
            assert sessions == before[1]
        elif url == edit_url:
            assert [r for r in offerings if r[0] != offering.id] == [
                r for r in before[0] if r[0] != offering.id]
            assert sessions == before[1]
        else:
            assert offerings == before[0]
            assert sessions[:-1] == before[1]
            assert len(sessions) == len(before[1]) + 1
        return outcome

    run_fuzz("offering editor", strategy, example)


def test_fuzz_learning_objectives_editor(fuzz_config, run_fuzz, app, client, make_staff,
                                         login, request):
    staff_client(request, make_staff, login, "admin@sfvl.no", admin=True)
    with session_scope(app.extensions["kp_engine"]) as session:
        kind = session.scalar(sa.select(CourseKind).where(CourseKind.code == "public_health"))
        kind_id, ids = kind.id, [str(o.id) for o in kind.objectives]
    url = f"/staff/kinds/{kind_id}/objectives"
    indices = st.one_of(st.integers(0, max(len(ids) - 1, 0)).map(str),
                        st.sampled_from(["-1", "999999", "1e3", "x", "", "00"]))
    entry = st.fixed_dictionaries({
        "objective_id": st.one_of(st.sampled_from(ids or [""]), st.just("")),
        "code": st.from_regex(r"[A-Z]{2,4}-[0-9]{1,3}", fullmatch=True),
        "text_nn": OPTIONAL_TEXT, "text_en": OPTIONAL_TEXT, "remove": CHECKBOX,
    })
    entries = st.lists(st.tuples(indices, entry), max_size=4)
    base = submissions({"new-code": st.one_of(st.just(""), st.from_regex(r"[A-Z]{2}-[0-9]{2}",
                                                                          fullmatch=True)),
                        "new-text_nn": OPTIONAL_TEXT})

    @st.composite
    def objective_forms(draw) -> Submission:
        submission = draw(base)
        if submission.raw is not None:
            return submission
        fields = list(submission.fields)
        for index, values in draw(entries):
            fields += [(f"objectives-{index}-{name}", value) for name, value in values.items()
                       if value is not MISSING]
        return Submission(fields)

    rows = sa.select(LearningObjective.__table__).order_by(LearningObjective.id)
    snapshots = Snapshots(app.extensions["kp_engine"],
                          lambda conn: [tuple(r) for r in conn.execute(rows)])

    def example(submission: Submission) -> Outcome:
        before = snapshots.before()
        response = submission.send(client, url, headers=EN)
        after = snapshots.after()
        accepted = response.status_code == 302 and response.headers["Location"].endswith(url)
        outcome = check(response, accepted, submission)
        if not accepted:
            assert after == before
        return outcome

    run_fuzz("learning objectives editor", objective_forms(), example)


# --- refunds --------------------------------------------------------------------------------------


AMOUNTS = st.one_of(
    st.builds("{} {:03d},{:02d}".format, st.integers(1, 99), st.integers(0, 999),
              st.integers(0, 99)),
    st.builds("kr {}".format, st.integers(0, 5000)),
    st.builds("{}.{:02d}".format, st.integers(0, 99999), st.integers(0, 99)),
)
KILOMETRES = st.one_of(st.integers(0, 3000).map(str),
                       st.builds("{},{}".format, st.integers(0, 3000), st.integers(0, 9)))
def pressed(submission: Submission, button: str) -> bool:
    """Whether WTForms reads ``button`` as pressed (its first value, not empty or "false")."""
    value = submission.first(button)
    return value is not MISSING and value not in ("", "false")


ROW_INDICES = st.sampled_from(["0", "1", "2", "29", "30", "31", "-1", "999999", "00", "x", ""])


def claim_fields(days: list[str]) -> dict[str, st.SearchStrategy]:
    """Valid values of the claim form: two legs, one cost, the account, the buttons."""
    day = st.sampled_from(days)
    fields: dict[str, st.SearchStrategy] = {}
    for index in (0, 1):
        fields |= {
            f"legs-{index}-travel_date": day, f"legs-{index}-from_place": WORDS,
            f"legs-{index}-to_place": WORDS,
            f"legs-{index}-means": st.sampled_from([m.value for m in TravelMeans]),
            f"legs-{index}-km": KILOMETRES, f"legs-{index}-passengers": st.integers(0, 8).map(str),
            f"legs-{index}-amount": AMOUNTS, f"legs-{index}-taxi_reason": OPTIONAL_TEXT,
            f"legs-{index}-best_class": CHECKBOX, f"legs-{index}-remove": CHECKBOX,
            f"legs-{index}-receipt": st.just(""),
        }
    fields |= {
        "costs-0-kind": st.sampled_from([k.value for k in COST_KINDS]),
        "costs-0-travel_date": day, "costs-0-amount": AMOUNTS,
        "costs-0-description": OPTIONAL_TEXT, "costs-0-remove": CHECKBOX,
        "bank_account": st.sampled_from(["8601 11 17947", "86011117947", "8601.11.17947", ""]),
        "comment": OPTIONAL_TEXT,
        # Mostly "save"; "send" submits the claim, after which the example starts a new one.
        "save": st.sampled_from(["y", "y", MISSING]),
        "check": st.sampled_from([MISSING, MISSING, MISSING, "y"]),
        "add_leg": st.sampled_from([MISSING] * 5 + ["y"]),
        "add_cost": st.sampled_from([MISSING] * 5 + ["y"]),
        "send": st.sampled_from([MISSING, MISSING, MISSING, "y"]),
    }
    return fields


def test_fuzz_refund_claim_form(fuzz_config, run_fuzz, app, client, make_offering, now):
    """The travel claim with its legs and costs, under the manage link, three days after the
    course; rows beyond the form's limits and at odd indices are sent too."""
    load_rates(app)
    first_day = (now - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    offering = make_offering(first_day=first_day)
    # The journey window is -1 to +2; -5 and +4 are refused at the field.
    days = [(first_day + timedelta(days=d)).date().isoformat() for d in (-5, -1, 0, 1, 2, 4)]
    base = submissions(claim_fields(days))
    row_fields = st.sampled_from(["travel_date", "from_place", "to_place", "means", "km",
                                  "passengers", "amount", "kind", "description", "remove"])
    odd_rows = st.lists(st.tuples(st.sampled_from(["legs", "costs"]), ROW_INDICES, row_fields,
                                  st.one_of(WORDS, WRONG)), max_size=4)

    @st.composite
    def claims(draw) -> Submission:
        submission = draw(base)
        if submission.raw is not None:
            return submission
        rows = [(f"{kind}-{index}-{name}", value) for kind, index, name, value in draw(odd_rows)]
        return Submission(list(submission.fields) + rows)

    target = {}

    def new_claim() -> None:
        """A fresh enrollment in the course, present at both days, and a draft claim started
        through the web."""
        token, digest = links.new_token()
        with session_scope(app.extensions["kp_engine"]) as session:
            enrollment = Enrollment(
                offering_id=offering.id, status=EnrollmentStatus.CONFIRMED,
                manage_links=[ManageLink(token_hash=digest)], participant=Participant(
                    full_name="Lege Legesen", email=f"lege{len(target)}@example.no",
                    role=Role.LIS1, locale="en"))
            session.add(enrollment)
            session.flush()
            enrollment_id = enrollment.id
        attend(app, enrollment_id)
        response = client.post(f"/manage/{token}/claims/new", headers=EN)
        assert response.status_code == 302, response.get_data(as_text=True)
        target.update(token=token, url=response.headers["Location"],
                      claim_id=int(response.headers["Location"].rsplit("/", 1)[1]))

    new_claim()
    snapshots = Snapshots(app.extensions["kp_engine"], lambda conn: (
        *counts(conn, Claim, ClaimLine, Receipt, OutboxMessage),
        tuple(conn.execute(sa.select(Claim.status, Claim.bank_account, Claim.comment)
                           .where(Claim.id == target["claim_id"])).one()),
        [tuple(r) for r in conn.execute(sa.select(ClaimLine.__table__)
                                        .where(ClaimLine.claim_id == target["claim_id"])
                                        .order_by(ClaimLine.id))]))

    def example(submission: Submission) -> Outcome:
        before, url = snapshots.before(), target["url"]
        response = submission.send(client, url, headers=EN)
        after = snapshots.after()
        submitted = after[4][0] not in ("draft", "returned")
        if submitted:  # locked now: the next examples get a new claim
            new_claim()
            snapshots.last = None
        saved = response.status_code == 302 and response.headers["Location"].endswith(url)
        # "Add another leg" and "Check amounts" show the form again without storing anything.
        outcome = check(response, saved or response.status_code == 200, submission)
        assert after[2] == before[2]  # receipts are not this form's business
        if not saved and pressed(submission, "send") and after != before:
            # A refused submission keeps the draft as typed (saved whole), and only that.
            assert (after[0], after[3], after[4][0]) == (before[0], before[3], before[4][0])
        elif not saved:
            assert after == before
        elif submitted:
            assert after[3] == before[3] + 1  # the participant is told by e-mail
        return outcome

    run_fuzz("refund claim form", claims(), example)


@pytest.mark.parametrize(("url", "field"), [("/manage/lost-link", "email"),
                                            ("/staff/login", "email")])
def test_file_in_a_text_field_is_refused(client, url, field):
    response = client.post(url, data={field: (io.BytesIO(b"x"), "a.txt"), "password": "x"},
                           headers=EN)
    assert response.status_code == 400
    assert 'field-errors" data-field="validation" id="email-error"' in response.get_data(
        as_text=True)


# --- what the fuzzing found, kept as plain regression tests ---------------------------------------


@pytest.mark.parametrize("body", ['{"email": 5}', '{"email": ["a@b.no", 3]}', '{"email": {}}',
                                  '"x"', "5", "[1, 2]", "null", "{"])
def test_json_body_is_refused_not_read_as_form_data(client, body):
    for url in ("/manage/lost-link", "/staff/login"):
        response = client.post(url, data=body, content_type="application/json", headers=EN)
        assert response.status_code == 400
        assert BAD_REQUEST_PAGE in response.get_data(as_text=True)


def test_number_too_large_for_a_float_is_a_field_error(app, client, make_staff, login,
                                                       make_offering, request):
    staff_client(request, make_staff, login, "kari@sfvl.no")
    offering = make_offering()
    data = {"kind": str(offering.kind_id), "cohort": f"{offering.cohort:%Y-%m}",
            "capacity": "9" * 400, "min_share_percent": "1" + "0" * 350,
            "enroll_opens_at": "2026-01-01T09:00", "enroll_closes_at": "2026-02-01T09:00"}
    response = client.post(f"/staff/courses/{offering.id}/edit", data=data, headers=EN)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Enter a number of seats from 1 to 1,000." in body
    assert "Enter a whole number from 1 to 100." in body


@pytest.mark.parametrize("hpr", ["١٢٣٤٥٦٧", "１２３４５６７", "𝟙𝟚𝟛𝟜𝟝𝟞𝟟"])
def test_hpr_number_in_other_digits_is_refused(app, client, make_offering, hpr):
    offering = make_offering()
    data = {"full_name": "Kari Nordmann", "email": "kari@example.org", "phone": "412 34 567",
            "role": "lis1", "hpr_number": hpr, "employer": "Bergen kommune",
            "start_month": f"{offering.cohort:%Y-%m}", "locale": "en", "consent": "y"}
    response = client.post(f"/courses/{offering.id}/enroll", data=data, headers=EN)
    assert response.status_code == 400
    assert 'id="hpr_number-error"' in response.get_data(as_text=True)
    with session_scope(app.extensions["kp_engine"]) as session:
        assert counts(session.connection(), Participant) == (0,)


@pytest.mark.parametrize("url", ["/staff/login", "/staff/password/forgot"])
def test_nul_in_a_staff_email_is_an_unknown_address_not_a_database_error(client, url):
    response = client.post(url, data={"email": "kari\x00@sfvl.no", "password": "x" * 12},
                           headers=EN)
    assert response.status_code in (302, 400)
    if url == "/staff/login":
        assert "Wrong e-mail or password" in response.get_data(as_text=True)


def test_nameless_form_part_is_dropped_not_a_server_error(client, make_staff, login, request,
                                                           app):
    staff_client(request, make_staff, login, "admin@sfvl.no", admin=True)
    with session_scope(app.extensions["kp_engine"]) as session:
        kind_id = session.scalar(sa.select(CourseKind.id).where(CourseKind.code == "public_health"))
    body = (b"--xyz\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--xyz\r\n"
            b"Content-Disposition: form-data; name=\"new-code\"\r\n\r\n\x01\r\n--xyz--\r\n")
    response = client.post(f"/staff/kinds/{kind_id}/objectives", data=body, headers=EN,
                           content_type="multipart/form-data; boundary=xyz")
    assert response.status_code == 400
    assert 'id="error-summary"' in response.get_data(as_text=True)


def test_every_form_derives_from_the_shared_base():
    """Only core/forms.py may subclass Flask-WTF's form directly (see core.forms.AppForm)."""
    root = Path(__file__).resolve().parent.parent
    offenders = [str(path.relative_to(root))
                 for folder in ("core", "enrollment", "certificates", "refunds")
                 for path in (root / folder).rglob("*.py")
                 if "FlaskForm" in path.read_text(encoding="utf-8")
                 and path != root / "core" / "forms.py"]
    assert offenders == []

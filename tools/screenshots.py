"""Screenshots of the main pages for the README (``make screenshots``).

Builds what ``make run`` builds, in a temporary folder that is deleted afterwards: a SQLite
database migrated to head, the counties, course kinds, rates and the demo data set (``flask
seed-demo``). Then it adds what the demo cannot give a camera: a manage link whose token it
knows (the demo stores only hashes), a draft travel claim and two submitted ones for the queue,
and an administrator with a second factor of its own (the demo has no staff; sign-in is not
weakened for this, the script signs in with both steps like a person). It serves the app on a
free local port in a thread and drives Debian's Chromium through Playwright (never Playwright's
own browser downloads), in Nynorsk, at desktop (1280×800) and phone (390×844) size, saving one
viewport-sized PNG per page and size in ``docs/screenshots/``.

    python tools/screenshots.py              # every page, both sizes
    python tools/screenshots.py --check      # no browser: every page answers as expected
    python tools/screenshots.py --only catalog --only course

Run it again after the look changes and commit the pictures.
"""

from __future__ import annotations

import argparse
import io
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pyotp
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from the repository
    sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from core.auth import create_staff  # noqa: E402
from core.cli import alembic_config, load_counties  # noqa: E402
from core.db import session_scope, utcnow  # noqa: E402
from core.models import County  # noqa: E402
from core.two_factor import seal  # noqa: E402
from enrollment.cli import load_kinds  # noqa: E402
from enrollment.demo import seed_demo  # noqa: E402
from enrollment.models import (  # noqa: E402
    CourseKind,
    CourseOffering,
    Enrollment,
    EnrollmentStatus,
)
from enrollment.services.links import issue_link  # noqa: E402
from refunds.cli import load_rate_schemes  # noqa: E402
from refunds.lines import LegInput  # noqa: E402
from refunds.models import TravelMeans  # noqa: E402
from refunds.services.claims import create_draft, submit_claim, update_draft  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
STAFF_EMAIL = "saksbehandlar@example.no"
# A valid Norwegian account number (MOD11), as the refunds tests use.
ACCOUNT = "86011117947"


@dataclass(frozen=True)
class Facts:
    """What the pages are about: ids and the one token the script knows."""

    course: int  # an open course with seats (Vestland, public health)
    full_course: int  # a full course with a waiting list, for the participant list
    token: str  # a participant's manage link in the course that was held
    claim: int  # that participant's draft claim
    password: str
    totp_secret: str


@dataclass(frozen=True)
class Shot:
    """One picture: its file name, whether staff take it, and how to reach the page."""

    name: str
    staff: bool
    path: Callable[[Facts], str]
    # The status the page answers with (the enrollment form after a failed submit: 400).
    status: int = 200
    # Done in the browser after loading the page, before the picture.
    act: Callable | None = None


def _failed_enrollment(page) -> None:
    """Send the enrollment form with only a name, past the browser's own checks, as a
    person whose browser does not check would."""
    page.evaluate("document.querySelector('main form').noValidate = true")
    page.fill("#full_name", "Kari Nordmann")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


SHOTS = [
    Shot("catalog", False, lambda f: "/"),
    Shot("course", False, lambda f: f"/courses/{f.course}"),
    Shot("enrollment-errors", False, lambda f: f"/courses/{f.course}/enroll", 400,
         _failed_enrollment),
    Shot("manage", False, lambda f: f"/manage/{f.token}"),
    Shot("claim", False, lambda f: f"/manage/{f.token}/claims/{f.claim}"),
    Shot("staff-dashboard", True, lambda f: "/staff/"),
    Shot("participants", True, lambda f: f"/staff/courses/{f.full_course}/participants"),
    Shot("claims-queue", True, lambda f: "/staff/refunds/"),
]


def free_port() -> int:
    """A port nothing listens on now (the server binds it right after)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build_app(folder: Path, port: int, *, csrf: bool = True):
    """The application on a fresh SQLite database in ``folder``, migrated and loaded."""
    from alembic import command

    url = f"sqlite:///{folder / 'kursportal.db'}"
    command.upgrade(alembic_config(url), "head")
    app = create_app({
        "SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": url,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "INSTANCE_PATH": str(folder),
        "WTF_CSRF_ENABLED": csrf, "RATELIMIT_ENABLED": False,
    })
    return app


def _offering(session, county: str, kind: str) -> CourseOffering:
    return session.scalar(
        sa.select(CourseOffering).join(County).join(CourseKind)
        .where(County.slug == county, CourseKind.code == kind, CourseOffering.is_demo)
        .order_by(CourseOffering.id).limit(1))


def load_data(app) -> Facts:
    """What ``make run`` loads, then a known manage link, claims and a signed-in-able admin."""
    engine = app.extensions["kp_engine"]
    now = utcnow()
    password, secret = secrets.token_urlsafe(18), pyotp.random_base32()
    with app.app_context(), session_scope(engine) as session:  # services publish events
        load_counties(session)
        load_kinds(session)
        load_rate_schemes(session)
        seed_demo(session, now)
        course = _offering(session, "vestland", "public_health")
        full = _offering(session, "vestland", "emergency_medicine")
        held = _offering(session, "more-og-romsdal", "public_health")
        people = list(session.scalars(
            sa.select(Enrollment).where(Enrollment.offering_id == held.id,
                                        Enrollment.status == EnrollmentStatus.CONFIRMED)
            .order_by(Enrollment.arrived_at)))
        day = held.sessions[0].starts_at.date()
        claims = []
        for number, enrollment in enumerate(people[:3]):
            claim = create_draft(session, enrollment, now=now)
            leg = LegInput(travel_date=day, from_place=("Ålesund", "Kristiansund", "Ørsta")[number],
                           to_place="Molde", means=TravelMeans.OWN_CAR,
                           km=Decimal(("79", "72", "110")[number]))
            update_draft(session, claim.id, lines=[leg], bank_account=ACCOUNT, comment="", now=now)
            claims.append(claim.id)
        for claim_id in claims[1:]:
            submit_claim(session, claim_id, now=now)
        token = issue_link(session, people[0])
        user = create_staff(session, email=STAFF_EMAIL, name="Solveig Saksbehandlar",
                            password=password, county=None, is_admin=True, locale="nn")
        user.totp_secret = seal(secret, app.config["SECRET_KEY"])
        user.totp_confirmed_at = now - timedelta(days=1)
        return Facts(course=course.id, full_course=full.id, token=token, claim=claims[0],
                     password=password, totp_secret=secret)


@contextmanager
def serving(app, port: int) -> Iterator[str]:
    """The app on ``port`` in a thread; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def sign_in(page, base: str, facts: Facts) -> None:
    """Both steps, as a person: e-mail and password, then the authenticator's code."""
    page.goto(f"{base}/staff/login")
    page.fill("#email", STAFF_EMAIL)
    page.fill("#password", facts.password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    page.fill("#code", pyotp.TOTP(facts.totp_secret).now())
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    if not page.url.rstrip("/").endswith("/staff"):
        raise RuntimeError(f"staff sign-in ended on {page.url}")


def shrink(png: bytes, target: Path) -> None:
    """Save ``png`` with a palette of 256 colours: a third of the bytes, the same to the eye
    (flat colours and anti-aliased text)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        image.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE).save(
            target, optimize=True)


def take(base: str, facts: Facts, shots: list[Shot], out: Path) -> list[Path]:
    """Every shot at every size with Debian's Chromium; returns the files written."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("Chromium is not installed (Debian: apt-get install chromium).")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="nn-NO", device_scale_factor=1)
        context.set_default_timeout(15_000)
        page = context.new_page()
        signed_in = False
        for shot in sorted(shots, key=lambda s: s.staff):  # public pages before signing in
            if shot.staff and not signed_in:
                sign_in(page, base, facts)
                signed_in = True
            for size, (width, height) in SIZES.items():
                page.set_viewport_size({"width": width, "height": height})
                response = page.goto(base + shot.path(facts))
                if shot.act is not None:
                    shot.act(page)
                elif response is None or response.status != shot.status:
                    raise RuntimeError(f"{shot.name}: {page.url} answered "
                                       f"{response.status if response else 'nothing'}")
                target = out / f"{shot.name}-{size}.png"
                shrink(page.screenshot(full_page=False), target)
                written.append(target)
        browser.close()
    return written


def check(app, facts: Facts, shots: list[Shot]) -> list[str]:
    """Without a browser: each page answers with its status; returns the problems."""
    client = app.test_client()
    base = app.config["PUBLIC_BASE_URL"]  # the only host the app answers
    problems, signed_in = [], False
    for shot in sorted(shots, key=lambda s: s.staff):
        if shot.staff and not signed_in:
            signed_in = True
            client.post("/staff/login", base_url=base,
                        data={"email": STAFF_EMAIL, "password": facts.password})
            client.post("/staff/login/code", base_url=base,
                        data={"code": pyotp.TOTP(facts.totp_secret).now()})
        path = shot.path(facts)
        if shot.act is _failed_enrollment:
            response = client.post(path, base_url=base, data={"full_name": "Kari Nordmann"})
        else:
            response = client.get(path, base_url=base)
        if response.status_code != shot.status:
            problems.append(f"{shot.name}: {path} answered {response.status_code}, "
                            f"not {shot.status} {response.headers.get('Location', '')}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="resolve every page without a browser and write nothing")
    parser.add_argument("--only", action="append", choices=[s.name for s in SHOTS],
                        help="take only this picture (repeatable)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder (default {OUT})")
    args = parser.parse_args(argv)
    shots = [s for s in SHOTS if not args.only or s.name in args.only]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kursportal-screenshots-") as folder:
        port = free_port()
        app = build_app(Path(folder), port, csrf=not args.check)
        facts = load_data(app)
        try:
            if args.check:
                problems = check(app, facts, shots)
                for problem in problems:
                    print(problem, file=sys.stderr)
                print(f"{len(shots) - len(problems)} of {len(shots)} pages answer as expected "
                      f"({time.monotonic() - started:.1f} s).")
                return 1 if problems else 0
            with serving(app, port) as base:
                written = take(base, facts, shots, args.out)
        finally:
            app.extensions["kp_engine"].dispose()
    size = sum(p.stat().st_size for p in written) // 1024
    print(f"{len(written)} pictures in {args.out} ({size} KiB, "
          f"{time.monotonic() - started:.1f} s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

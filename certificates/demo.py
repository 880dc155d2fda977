"""The certificates of the demo data: issued the day after a demo course ended to those who
met the completion rule, as the office would have (``enrollment.panels.register_demo_step``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from certificates import services


def issue_demo_certificates(session: Session, offering, confirmed: list,
                            issued_at: datetime) -> None:
    """Issue, at ``issued_at``, a certificate to each confirmed participant of the ended demo
    ``offering`` who met the completion rule (``confirmed`` are all of them)."""
    services.issue_due(session, offering.id, now=issued_at)

"""The enrollment plugin's settings (checked at start like core's: core/settings.py)."""

from core.settings import Integer, Number, RateLimit, Setting

SETTINGS = (
    Setting("CATALOG_PAGE_SIZE", Integer(), 25),
    # Enrollment is limited by who is enrolling: an address or an HPR number per offering.
    # One IP address can be a whole hospital (or Norsk Helsenett's) network at the minute a
    # course opens, so its ceiling only stops a flood (docs/security.md, "Rate limits").
    Setting("ENROLL_EMAIL_RATE_LIMIT", RateLimit(), "5 per 10 minutes"),
    Setting("ENROLL_HPR_RATE_LIMIT", RateLimit(), "5 per 10 minutes"),
    Setting("ENROLL_IP_RATE_LIMIT", RateLimit(), "1000 per 10 minutes"),
    Setting("LOST_LINK_IP_RATE_LIMIT", RateLimit(), "100 per 10 minutes"),
    Setting("LINK_EMAIL_RATE_LIMIT", RateLimit(), "3 per hour"),
    Setting("PRIVACY_LINK_RATE_LIMIT", RateLimit(), "3 per hour"),
    # Messages staff send to an offering's participants, per staff member and offering: each
    # one mails every recipient.
    Setting("MESSAGE_RATE_LIMIT", RateLimit(), "5 per hour;20 per day"),
    # How long the link that confirms a new e-mail address (and the one that stops it) works.
    Setting("EMAIL_CHANGE_LINK_HOURS", Number(), 24),
)

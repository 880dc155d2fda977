"""The certificates plugin's settings (checked at start like core's: core/settings.py)."""

from core.settings import RateLimit, Setting

SETTINGS = (
    # Per client IP address: the codes are random, so guessing them is what this slows down.
    Setting("VERIFY_RATE_LIMIT", RateLimit(), "60 per minute;1000 per hour"),
)

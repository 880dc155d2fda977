"""A participant's requests about their personal data, and staff's confirmation of erasure."""

from __future__ import annotations

from core.forms import AppForm


class ErasureRequestForm(AppForm):
    """The participant's request for erasure; the CSRF token is its only field."""


class ExportRequestForm(AppForm):
    """The participant's request for a copy of their data; the CSRF token is its only field."""


class PrivacyLinkForm(AppForm):
    """Opening a mailed privacy link (download, or send the request for erasure); the CSRF
    token is its only field."""


class ConfirmErasureForm(AppForm):
    """Staff's confirmation of a request for erasure; the CSRF token is its only field."""

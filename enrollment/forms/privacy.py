"""A participant's request for erasure, and staff's confirmation of it."""

from __future__ import annotations

from core.forms import AppForm


class ErasureRequestForm(AppForm):
    """The participant's request for erasure; the CSRF token is its only field."""


class ConfirmErasureForm(AppForm):
    """Staff's confirmation of a request for erasure; the CSRF token is its only field."""

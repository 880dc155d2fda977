"""The decorators an API operation wears between its route and its contract: rate limits, and
for a staff operation the token (``core.api.auth``)::

    @routes.get("/api/v1/offerings")
    @public
    @spec.validate(query=OfferingFilter, resp=Response(HTTP_200=OfferingPage))
    def list_offerings(query: OfferingFilter): ...
"""

from __future__ import annotations

from collections.abc import Callable

from flask import request

from core.api.auth import token_key, token_required
from core.limits import config_limit, limiter


def _per_address() -> str:
    return f"api-ip:{request.remote_addr or ''}"


# Each limit is shared by every operation (one count per address, one per token), not kept
# per operation: a client cannot multiply its allowance by calling more addresses.
def _per_address_limit():
    return limiter.shared_limit(config_limit("API_IP_RATE_LIMIT"), scope="api-address",
                                key_func=_per_address)


def public(view: Callable) -> Callable:
    """A public operation: limited per client address (``API_IP_RATE_LIMIT``)."""
    return _per_address_limit()(view)


def staff(*, write: bool = False) -> Callable[[Callable], Callable]:
    """A staff operation: a token (that may write, with ``write``) is required; limited per
    token (``API_TOKEN_RATE_LIMIT``) and per client address."""

    def decorate(view: Callable) -> Callable:
        view = token_required(write=write)(view)
        view = limiter.shared_limit(config_limit("API_TOKEN_RATE_LIMIT"), scope="api-token",
                                    key_func=token_key)(view)
        return _per_address_limit()(view)

    return decorate

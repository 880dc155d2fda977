"""Core's API addresses: the OpenAPI document, the county offices, the token a call carries.

``/api/v1/openapi.json`` is public and cacheable like the catalog (ETag, CORS). Any error under
``/api/`` (an unknown address, a wrong method, a rate limit, a crash) is a problem object, not
an HTML page: ``core.errors`` asks :func:`core.api.problems.is_api_request`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from flask import Blueprint, Flask, g, request
from pydantic import BaseModel, Field
from spectree import Response

from core.api import tokens  # noqa: F401  (its table on Base.metadata)
from core.api.operations import public, staff
from core.api.problems import Problem, is_api_request
from core.api.spec import document, spec
from core.api.web import cors_preflight, private_json, public_json
from core.collation import collated
from core.db import get_session
from core.models import County

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json")
@public
def openapi_document():
    """The OpenAPI 3.1 document of every operation this server has."""
    return public_json(document())


def _preflight(response):
    """A browser asks (OPTIONS) before a cross-site GET with ``If-None-Match``: allowed for GET
    and HEAD only, and without ``Authorization``, so no other site's page can call the staff
    operations with a token."""
    if request.method == "OPTIONS" and is_api_request():
        cors_preflight(response)
    return response


def init_app(app: Flask) -> None:
    """CORS preflight answers for every API address (the plugins' too)."""
    app.after_request(_preflight)


# --- counties: the offices the catalog can be filtered by -------------------------------------


class Localised(BaseModel):
    """A text in the three languages the service speaks."""

    nn: str
    nb: str
    en: str


class CountyOut(BaseModel):
    """A county governor's office."""

    slug: str = Field(description="The office's short name, as the catalog's filter takes it.")
    name: Localised = Field(description="The county's name.")
    office: Localised = Field(description="The office's full name.")
    email: str = Field(description="The office's e-mail address.")


class CountyList(BaseModel):
    """Every office, in Norwegian alphabetical order of the Bokmål name."""

    items: list[CountyOut]


@bp.get("/counties")
@public
@spec.validate(resp=Response(HTTP_200=CountyList), tags=["catalog"],
               operation_id="listCounties")
def list_counties():
    """The county governors' offices

    The ``slug`` of each is what ``/offerings?county=`` takes."""
    rows = get_session().scalars(sa.select(County).order_by(collated(County.name_nb)))
    return public_json(CountyList(items=[
        CountyOut(slug=c.slug, email=c.email,
                  name=Localised(nn=c.name_nn, nb=c.name_nb, en=c.name_en),
                  office=Localised(nn=c.office_nn, nb=c.office_nb, en=c.office_en))
        for c in rows]))


# --- the token a call carries ------------------------------------------------------------------


class TokenOut(BaseModel):
    """The token of the call: whose it is, for which office, what it may do, until when."""

    name: str
    holder: str = Field(description="The staff member who made it.")
    county: str = Field(description="The slug of the office it works for.")
    scope: Literal["read", "read-write"]
    expires_at: datetime


@bp.get("/token")
@staff()
@spec.validate(resp=Response(HTTP_200=TokenOut, HTTP_401=Problem), tags=["staff"],
               security={"token": []}, operation_id="describeToken")
def describe_token():
    """The token this call carries

    A cheap way for a client to check its token before it does anything else."""
    token = g.api_token
    return private_json(TokenOut(
        name=token.name, holder=token.owner.name, county=token.county.slug,
        scope="read-write" if token.can_write else "read", expires_at=token.expires_at))

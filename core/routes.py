"""One module's routes, attached to its plugin's blueprint by the plugin itself.

A plugin keeps one routes module per subject (``enrollment/routes/catalog.py``, ...). Each module
declares its routes on its own :class:`Routes` table, with the same decorators a blueprint has;
nothing is registered when the module is imported. The plugin's blueprint module then names every
table it serves, so the whole of a plugin's web surface is listed in one place::

    routes = Routes()

    @routes.get("/courses/<int:offering_id>")
    def show_offering(offering_id): ...

    # enrollment/routes/__init__.py
    bp = Blueprint("enrollment", __name__)
    attach(bp, catalog.routes, enroll.routes, manage.routes, ...)

The endpoint names stay ``<blueprint>.<function>`` as with ``@bp.get``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint

_View = Callable[..., Any]


class Routes:
    """A table of deferred blueprint registrations, replayed by :func:`attach`."""

    def __init__(self) -> None:
        self._entries: list[tuple[str, tuple, dict, _View]] = []

    def _deferred(self, method: str, *args: Any, **options: Any) -> Callable[[_View], _View]:
        def decorator(view: _View) -> _View:
            self._entries.append((method, args, options, view))
            return view

        return decorator

    def route(self, rule: str, **options: Any) -> Callable[[_View], _View]:
        return self._deferred("route", rule, **options)

    def get(self, rule: str, **options: Any) -> Callable[[_View], _View]:
        return self._deferred("get", rule, **options)

    def post(self, rule: str, **options: Any) -> Callable[[_View], _View]:
        return self._deferred("post", rule, **options)

    def before_request(self, hook: _View) -> _View:
        """Run before every request of the blueprint (not only this module's routes)."""
        self._entries.append(("before_request", (), {}, hook))
        return hook

    def after_request(self, hook: _View) -> _View:
        """Run after every request of the blueprint (not only this module's routes)."""
        self._entries.append(("after_request", (), {}, hook))
        return hook

    def attach(self, bp: Blueprint) -> None:
        for method, args, options, view in self._entries:
            if args:
                getattr(bp, method)(*args, **options)(view)
            else:
                getattr(bp, method)(view)

    @property
    def views(self) -> list[_View]:
        return [view for method, args, _options, view in self._entries if args]


def attach(bp: Blueprint, *tables: Routes) -> Blueprint:
    """Attach each routes table to ``bp``, in the order given, and return ``bp``."""
    for table in tables:
        table.attach(bp)
    return bp

"""The certificates blueprint: every routes table of the plugin, attached here and nowhere
else (``core.routes``): the public pages (verify by code and by file), the participant's own
certificate (download), the staff pages (print, issue by hand, revoke) and the staff API
(``api``: list, revoke)."""

from flask import Blueprint

from certificates.routes import api, download, staff, verify, verify_file
from core.routes import attach

bp = attach(Blueprint("certificates", "certificates", template_folder="templates"),
            verify.routes, verify_file.routes, download.routes, staff.routes, api.routes)

"""What happens in the enrollment plugin, as domain events (``core.events``).

The services publish these after flushing the change, in the change's session; subscribers
(``enrollment.mail`` records the participant's mail, ``enrollment.audit`` writes the audit log,
other plugins add their own) are connected per application in ``init_app``. Every event is
sent with ``session`` (the change's database session); what else it carries is said beside it.
``actor`` is the staff member who acted, or None for the participant (or a command).
"""

from __future__ import annotations

from core.events import Namespace

signals = Namespace()

# --- a participant's enrollment -------------------------------------------------------------

# A new enrollment, by the person on the form or by staff: ``enrollment``, ``token`` (the fresh
# manage link's token, never stored), ``position`` (its place on the waiting list, or None),
# ``actor`` (staff who added the person by hand, else None).
enrolled = signals.signal("enrolled")

# Someone sent the form again for an active enrollment: ``enrollment`` (the existing one) and
# ``token`` (a fresh link for its holder), ``position`` (its place on the waiting list or None).
enrolled_again = signals.signal("enrolled_again")

# An enrollment was cancelled: ``enrollment``, ``by_staff`` (True when the office did it, with
# ``reason``), ``promoted`` (the enrollments that got the freed seat, each also announced by
# ``promoted``), ``before`` (the audit fields before), ``actor``.
cancelled = signals.signal("cancelled")

# A waiting-list enrollment got a seat (a cancellation, a move, a raised capacity):
# ``enrollment``.
promoted = signals.signal("promoted")

# A seat freed and the first on the waiting list was offered it, to accept by
# ``enrollment.offer_expires_at`` (an offering with ``offer_hours``): ``enrollment``, ``token``
# (a fresh manage link to accept it from).
offered = signals.signal("offered")

# The person accepted the offered seat from their manage page (``offer_accepted``:
# ``enrollment``, now confirmed), or the offer ran out unanswered and the periodic command
# passed the seat on (``offer_expired``: ``enrollment``, ``promoted``: who got it next, each
# also announced by ``offered`` or ``promoted``).
offer_accepted = signals.signal("offer_accepted")
offer_expired = signals.signal("offer_expired")

# Staff approved a pending enrollment: ``enrollment``, ``position`` (None: it has a seat),
# ``before``, ``actor``.
approved = signals.signal("approved")

# Staff rejected an enrollment: ``enrollment`` (its ``status_reason`` says why), ``before``,
# ``actor``.
rejected = signals.signal("rejected")

# Staff moved an enrollment to another offering: ``old`` (now cancelled), ``new``, ``position``
# (the new one's place on the waiting list, or None), ``promoted`` (who got the freed seat in
# the old offering, each also announced by ``promoted``), ``before``, ``actor``.
moved = signals.signal("moved")

# A participant asked to change their e-mail address: ``change`` (the ``EmailChange``),
# ``confirm_token`` (for the new address) and ``cancel_token`` (for the old one).
email_change_requested = signals.signal("email_change_requested")

# The change was confirmed from the new address (``email_changed``) or stopped from the old
# one (``email_change_stopped``): ``change``.
email_changed = signals.signal("email_changed")
email_change_stopped = signals.signal("email_change_stopped")

# A participant withdrew the other links to their enrollment: ``enrollment``, ``withdrawn``
# (how many).
links_withdrawn = signals.signal("links_withdrawn")

# --- attendance -------------------------------------------------------------------------------

# Staff saved the marks of a course day: ``offering``, ``course_session``, ``marks`` (the marks
# saved, enrollment id -> ``Mark``, only confirmed participants), ``before`` and ``after`` (every
# confirmed participant's stored value, enrollment id -> True/False/None), ``actor``, ``now``
# (the moment of the save).
attendance_recorded = signals.signal("attendance_recorded")

# --- offerings, their days, the kinds' objectives (staff) --------------------------------------

# ``offering``, ``before`` and ``after`` (the audit fields that changed; ``before`` None for a
# new one), ``actor``. ``offering_updated`` and ``capacity_changed`` also carry ``promoted``.
offering_created = signals.signal("offering_created")
offering_updated = signals.signal("offering_updated")
capacity_changed = signals.signal("capacity_changed")
offering_published = signals.signal("offering_published")
offering_unpublished = signals.signal("offering_unpublished")

# The office cancelled a course: ``offering``, ``cancelled`` (the enrollments it cancelled),
# ``reason``, ``before``, ``after``, ``actor``.
offering_cancelled = signals.signal("offering_cancelled")

# A course day added, moved or removed: ``offering``, ``course_session_id``, ``before``,
# ``after``, ``actor``.
session_added = signals.signal("session_added")
session_moved = signals.signal("session_moved")
session_removed = signals.signal("session_removed")

# An administrator saved a course kind's learning objectives: ``kind``, ``before``, ``after``,
# ``actor``.
objectives_updated = signals.signal("objectives_updated")

# --- messages to participants (staff) -----------------------------------------------------------

# Staff sent a message to an offering's participants: ``message`` (the ``OfferingMessage``),
# ``deliveries`` (each recipient's enrollment with a fresh manage-link token for the mail, as
# (enrollment, token) pairs), ``actor``.
message_sent = signals.signal("message_sent")
# --- cohort rosters (staff) ---------------------------------------------------------------------

# A roster file was uploaded and checked, not applied yet: ``roster_import``, ``actor``.
roster_file_staged = signals.signal("roster_file_staged")

# Staff confirmed an uploaded roster file: ``roster`` (created or updated), ``roster_import``
# (its ``summary`` says how many entries were added, updated, unchanged and skipped), ``actor``.
roster_imported = signals.signal("roster_imported")

# Staff discarded an uploaded roster file without applying it: ``roster_import``, ``actor``.
roster_import_discarded = signals.signal("roster_import_discarded")

# Staff chose the roster entry an ambiguous enrollment belongs to: ``roster``, ``match`` (the
# ``RosterMatch``; ``entry_id`` None for none of them), ``before`` (the earlier choice, or
# None), ``actor``.
roster_match_chosen = signals.signal("roster_match_chosen")

# Staff invited roster people to an offering: ``roster``, ``offering``, ``plan`` (an
# ``enrollment.services.invitations.InvitationPlan``: who was invited, who skipped and why),
# ``actor``.
roster_invited = signals.signal("roster_invited")

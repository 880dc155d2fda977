"""What happens to certificates, as the certificates services publish it (``core.events``).

Each signal is published inside the transaction, after the change is flushed, with the
request's or command's session as ``session``. Subscribers (``certificates.subscribers``: the
audit log) work in that session and never commit.
"""

from core.events import Namespace

signals = Namespace()

# A certificate was issued, or issued again with the same code. Carries ``certificate``,
# ``enrollment`` (offering loaded), ``actor`` (the staff member who issued it by hand, or whose
# action issued it by the completion rule: printing, saving attendance; None when the rule
# issued it with no staff member: the participant's own request, ``flask certificates
# issue-due``), ``by_hand`` (a staff decision with a reason), ``reissue`` (the valid one issued
# again: ``before`` holds its summary before), ``completed`` (whether the rule is met) and
# ``summary`` (what the certificate states, for the audit log).
issued = signals.signal("issued")

# A certificate was revoked. Carries ``certificate``, ``enrollment``, ``actor`` (who revoked it)
# and ``reason`` (shown on the public verification page).
revoked = signals.signal("revoked")

"""The enrollment plugin's domain operations, one module per subject: ``enrollments`` (enroll,
cancel, promote, the waiting list), ``offerings`` (offerings and their sessions),
``objectives`` (the learning objectives of a course kind), ``participants`` (staff decisions,
moves, search), ``attendance``, ``links`` (manage links), ``email_change``, ``privacy``,
``cohorts``, and the read-only queries of ``catalog`` and ``dashboard``. Plain functions that
take a session, flush and never commit."""

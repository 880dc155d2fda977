"""The certificates plugin's settings (checked at start like core's: core/settings.py)."""

from core.settings import Integer, RateLimit, Setting, Text, TextList, Url

SETTINGS = (
    # Per client IP address: the codes are random, so guessing them is what this slows down.
    Setting("VERIFY_RATE_LIMIT", RateLimit(), "60 per minute;1000 per hour"),
    # Checking an uploaded PDF costs some 0.6 s of CPU in the sandbox: far fewer than codes.
    Setting("VERIFY_UPLOAD_RATE_LIMIT", RateLimit(), "10 per minute;100 per hour"),
    # The largest PDF /verify checks; a certificate is about 60 kB.
    Setting("CERTIFICATE_UPLOAD_MAX_BYTES", Integer(least=1024), 2 * 1024 * 1024),
    # Signing (certificates/keys.py, docs/deployment.md): the PKCS#12 file, or one per office
    # with {county} in the path; unset in debug and testing: the test key in instance/.
    Setting("CERTIFICATE_SIGNING_KEY", Text("a path to a PKCS#12 (.p12) file"), optional=True),
    Setting("CERTIFICATE_SIGNING_PASSWORD", Text(), optional=True, secret=True),
    # The root certificates a signature must chain to; unset: the issuers in the key files.
    Setting("CERTIFICATE_TRUST_ROOTS", Text("a path to a PEM file of certificates"),
            optional=True),
    # Subjects (RFC 4514) of former signing certificates whose signatures stay ours.
    Setting("CERTIFICATE_SIGNERS", TextList(), optional=True),
    # SHA-256 fingerprints of signing certificates withdrawn (a lost or revoked key): /verify
    # no longer vouches for files signed with them.
    Setting("CERTIFICATE_DISTRUSTED", TextList(), optional=True),
    # An RFC 3161 time-stamp authority: signatures become PAdES B-T instead of B-B.
    Setting("CERTIFICATE_TSA_URL", Url("http", "https"), optional=True),
)

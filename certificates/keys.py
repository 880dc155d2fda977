"""The keys that sign certificates: loaded from PKCS#12 files named in the configuration, or
made for development and tests by ``flask certificates keys create``.

Production (docs/deployment.md, "Signing certificates"): ``CERTIFICATE_SIGNING_KEY`` names a
PKCS#12 file holding the key, its certificate and the issuer's chain (an enterprise certificate,
virksomhetssertifikat, from a Norwegian issuer), and ``CERTIFICATE_SIGNING_PASSWORD`` (from the
environment) opens it. One national key, or one per office: a ``{county}`` in the path is the
office's slug (``/run/secrets/kursbevis-{county}.p12``). ``CERTIFICATE_TRUST_ROOTS`` names the
issuer's root certificates that ``/verify`` accepts a signature chained to.

Development and tests: ``flask certificates keys create`` writes a test CA's certificate and a
signing key signed by it into ``instance/certificate-keys/``, marked as test keys in their
names (the printed line says "TEST"), and used when ``CERTIFICATE_SIGNING_KEY`` is unset in
debug or testing only. A production start refuses a test key.

Keys never reach the repository (``instance/`` is ignored), the database or a log: messages
name the file, never the password.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from flask import Flask, current_app
from pyhanko.sign import signers

from certificates.signing import TemplateSigner

KEY_DIRECTORY = "certificate-keys"
TEST_UNIT = "TEST KEY - not for production"
COUNTY = "{county}"


class SigningKeyError(RuntimeError):
    """A configured key cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class SigningKey:
    """A loaded key: pyHanko's signer, its certificate and the issuers that came with it."""

    signer: TemplateSigner
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    is_test: bool

    @property
    def signer_name(self) -> str:
        """Whom the printed line names: the organisation in the certificate (else its name)."""
        subject = self.certificate.subject
        for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
            found = subject.get_attributes_for_oid(oid)
            if found:
                return str(found[0].value)
        return subject.rfc4514_string()


def _is_test(certificate: x509.Certificate) -> bool:
    units = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return any(unit.value == TEST_UNIT for unit in units)


def load_key(path: Path, password: str | None) -> SigningKey:
    """The PKCS#12 file at ``path``, opened with ``password`` (None: not encrypted)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read the signing key {path}: {exc.strerror}") from None
    secret = password.encode() if password else None
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(data, secret)
        base = signers.SimpleSigner.load_pkcs12_data(data, other_certs=None, passphrase=secret)
    except (ValueError, TypeError):
        raise SigningKeyError(f"the signing key {path} cannot be opened: not a PKCS#12 file, "
                              "or a wrong CERTIFICATE_SIGNING_PASSWORD") from None
    if key is None or certificate is None:
        raise SigningKeyError(f"the signing key {path} holds no key and certificate")
    return SigningKey(signer=TemplateSigner(base, key), certificate=certificate,
                      chain=tuple(chain), is_test=_is_test(certificate))


@lru_cache(maxsize=32)
def _cached(path: str, _stamp: tuple[int, int], password: str | None) -> SigningKey:
    return load_key(Path(path), password)


def _load_fresh(path: Path, password: str | None) -> SigningKey:
    """The key at ``path``, loaded once per process and again when the file is replaced (a
    renewed certificate takes effect without a restart)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise SigningKeyError(f"cannot read the signing key {path}: {exc.strerror}") from None
    return _cached(str(path), (stat.st_mtime_ns, stat.st_size), password)


def test_key_path(app: Flask) -> Path:
    """Where ``flask certificates keys create`` puts the test signing key."""
    return Path(app.instance_path) / KEY_DIRECTORY / "signing.p12"


def configured_path(app: Flask, county: str) -> Path | None:
    """The key file for the office ``county`` (its slug): the configured one, else in debug
    and testing the test key when it has been made; None when there is none."""
    pattern = app.config.get("CERTIFICATE_SIGNING_KEY")
    if pattern:
        return Path(pattern.replace(COUNTY, county))
    if app.debug or app.testing:
        path = test_key_path(app)
        return path if path.exists() else None
    return None


def signing_key(county: str, app: Flask | None = None) -> SigningKey | None:
    """The key that signs the office's certificates, or None when no key is configured (the
    certificate is then handed out unsigned and the log says so)."""
    app = app or current_app
    path = configured_path(app, county)
    if path is None:
        return None
    return _load_fresh(path, app.config.get("CERTIFICATE_SIGNING_PASSWORD"))


def key_files(app: Flask) -> list[Path]:
    """Every key file the configuration names (each office's, for a ``{county}`` pattern)."""
    pattern = app.config.get("CERTIFICATE_SIGNING_KEY")
    if not pattern:
        path = test_key_path(app)
        return [path] if (app.debug or app.testing) and path.exists() else []
    if COUNTY not in pattern:
        return [Path(pattern)]
    folder = Path(pattern).parent
    name = Path(pattern).name
    before, _, after = name.partition(COUNTY)
    return sorted(p for p in folder.glob(f"{before}*{after}") if p.is_file())


def trust_roots(app: Flask) -> list[bytes]:
    """The certificates (DER) a signature must chain to for ``/verify`` to call it ours: those
    in ``CERTIFICATE_TRUST_ROOTS``, else the issuers in the key files."""
    bundle = app.config.get("CERTIFICATE_TRUST_ROOTS")
    if bundle:
        try:
            found = x509.load_pem_x509_certificates(Path(bundle).read_bytes())
        except (OSError, ValueError) as exc:
            raise SigningKeyError(f"cannot read CERTIFICATE_TRUST_ROOTS {bundle}: {exc}") \
                from None
    else:
        password = app.config.get("CERTIFICATE_SIGNING_PASSWORD")
        found = [issuer for path in key_files(app)
                 for issuer in _load_fresh(path, password).chain]
    return [c.public_bytes(serialization.Encoding.DER) for c in found]


def our_signers(app: Flask) -> set[str]:
    """The subjects (RFC 4514) of the certificates the keys sign with: a signature by another
    holder of a certificate from the same issuer is not ours. A renewed certificate keeps its
    subject; ``CERTIFICATE_SIGNERS`` adds former ones."""
    password = app.config.get("CERTIFICATE_SIGNING_PASSWORD")
    subjects = {_load_fresh(path, password).certificate.subject.rfc4514_string()
                for path in key_files(app)}
    return subjects | set(app.config.get("CERTIFICATE_SIGNERS") or ())


def check_for_production(app: Flask) -> None:
    """Outside debug and testing: a configured key must open and must not be a test key, and
    the trust roots must be readable (else every check of a file would fail)."""
    if app.debug or app.testing:
        return
    password = app.config.get("CERTIFICATE_SIGNING_PASSWORD")
    for path in key_files(app):
        if load_key(path, password).is_test:
            raise SigningKeyError(f"Refusing to sign certificates with the test key {path} "
                                  "in production.")
    trust_roots(app)


# --- test keys ---------------------------------------------------------------------------------


def _name(common: str, organisation: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, TEST_UNIT),
        x509.NameAttribute(NameOID.COMMON_NAME, common),
    ])


def _usage(*, signs_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not signs_certificates, content_commitment=not signs_certificates,
        key_encipherment=False, data_encipherment=False, key_agreement=False,
        key_cert_sign=signs_certificates, crl_sign=signs_certificates, encipher_only=False,
        decipher_only=False)


# The key size of the enterprise certificates Norwegian issuers deliver as files (SEID 2.0:
# RSA 3072, per Commfides' product page, checked 2026-12-04).
KEY_SIZE = 3072


def make_test_keys(folder: Path, organisation: str = "Kursportal", *,
                   name: str = "signing", years: int = 10) -> Path:
    """A test CA and a key it certifies for ``organisation`` (RSA, :data:`KEY_SIZE`), as
    ``<name>.p12`` (unencrypted, readable by the owner only) and the CA's certificate as
    ``<name>-ca.pem`` in ``folder``. Returns the key file."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    ca_name = _name(f"{organisation} test CA", organisation)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=365 * years))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(_usage(signs_certificates=True), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{organisation} certificate signing", f"{organisation} (TEST)"))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(signs_certificates=False), critical=True)
        .sign(ca_key, hashes.SHA256()))
    path = folder / f"{name}.p12"
    data = pkcs12.serialize_key_and_certificates(
        name.encode(), key, certificate, [ca], serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
    (folder / f"{name}-ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return path

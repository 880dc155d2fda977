"""Participants' certificates are signed PDFs (PAdES) that prove themselves: Poppler's pdfsig and
pyHanko's validator both find the signature valid and covering the whole document, one changed
byte breaks it, the keys are made and loaded as docs/deployment.md says, and a time-stamp
authority makes the signature PAdES B-T. (Checking an uploaded file at /verify:
tests/test_certificate_upload.py.)"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import shutil
import stat
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from app import create_app
from certificates import keys
from certificates.signing import TemplateSigner
from tests.test_certificates import attend, course, download, enroll, pdf_texts

pytestmark = pytest.mark.one_database  # signing does not depend on the database under it


def pdfsig(data: bytes, tmp_path: Path) -> str:
    """What Poppler's pdfsig reports about the file's signatures."""
    if shutil.which("pdfsig") is None:
        pytest.fail("pdfsig is missing: apt-get install poppler-utils")
    path = tmp_path / "signed.pdf"
    path.write_bytes(data)
    done = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def ca_of(key_file: str) -> asn1_x509.Certificate:
    """The test CA that certified the key in ``key_file``."""
    pem = Path(key_file).with_name(Path(key_file).stem + "-ca.pem").read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    return asn1_x509.Certificate.load(der)


def pyhanko_status(data: bytes, root: asn1_x509.Certificate):
    signature = PdfFileReader(BytesIO(data)).embedded_signatures[0]
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    return validate_pdf_signature(signature, signer_validation_context=context)


def downloaded_certificate(app, client, make_offering, lang: str = "nn") -> bytes:
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård")
    attend(app, enrollment_id)
    response = download(client, token, lang)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    return response.data


def test_a_downloaded_certificate_is_signed_and_both_validators_say_so(
        app, client, make_offering, signing_key_file, tmp_path):
    data = downloaded_certificate(app, client, make_offering)

    report = pdfsig(data, tmp_path)
    assert "Signature Type: ETSI.CAdES.detached" in report
    assert "Signature Validation: Signature is Valid." in report
    assert "Total document signed" in report
    assert "Signer Certificate Common Name: Kursportal certificate signing" in report

    status = pyhanko_status(data, ca_of(signing_key_file))
    assert (status.intact, status.valid, status.trusted) == (True, True, True)
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    signature = PdfFileReader(BytesIO(data)).embedded_signatures[0]
    assert signature.sig_object["/Reason"].startswith("Kursbevis ")
    # The printed line names the signer (here the test key's organisation) in the language.
    text = " ".join(pdf_texts(data)[0].split())
    assert "Digitalt signert av Kursportal (TEST)." in text
    assert "last ho opp på http://localhost/verify" in text


def test_one_changed_byte_breaks_the_signature_for_both_validators(
        app, client, make_offering, signing_key_file, tmp_path):
    data = bytearray(downloaded_certificate(app, client, make_offering, "en"))
    signature = PdfFileReader(BytesIO(bytes(data))).embedded_signatures[0]
    start, length = signature.byte_range[0], signature.byte_range[1]
    # A byte inside the first signed range, in the middle of the page's content.
    data[start + length // 2] ^= 0x01

    assert "Signature Validation: Digest Mismatch." in pdfsig(bytes(data), tmp_path)
    status = pyhanko_status(bytes(data), ca_of(signing_key_file))
    assert not status.intact
    assert not status.bottom_line


def test_the_template_gives_the_bytes_pyhanko_builds_itself(signing_key_file):
    """The signer builds each CMS from its key's template; with an RSA key (PKCS #1 v1.5
    signatures are deterministic) the result is exactly pyHanko's own, for any digest."""
    key = keys.load_key(Path(signing_key_file), None)
    plain = signers.SimpleSigner(signing_cert=key.signer.signing_cert,
                                 signing_key=key.signer.signing_key,
                                 cert_registry=key.signer.cert_registry)
    for digest in (bytes(32), bytes(range(32)), os.urandom(32)):
        ours = asyncio.run(key.signer.async_sign(digest, "sha256", use_pades=True))
        theirs = asyncio.run(plain.async_sign(digest, "sha256", use_pades=True))
        assert ours.dump() == theirs.dump()


def self_signed(key, common_name: str, *critical: x509.ExtensionType) -> x509.Certificate:
    """A certificate for ``key`` signed by itself, valid for a day."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(hours=1))
               .not_valid_after(now + dt.timedelta(days=1)))
    for extension in critical:
        builder = builder.add_extension(extension, critical=True)
    return builder.sign(key, hashes.SHA256())


def test_an_ecdsa_key_signs_through_the_template_too():
    """Other key types than the issuers' RSA work the same way (signatures vary in length)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = self_signed(key, "EC signer")
    base = signers.SimpleSigner.load_pkcs12_data(
        serialization.pkcs12.serialize_key_and_certificates(
            b"ec", key, cert, None, serialization.NoEncryption()), other_certs=None)
    signer = TemplateSigner(base, key)
    from certificates.pdf import build_certificate
    from certificates.signing import sign_pdf
    from tests.test_certificates import sample_page

    for _ in range(3):
        signed = sign_pdf(build_certificate(sample_page()), signer, reason="r", name="n")
        status = pyhanko_status(signed, asn1_x509.Certificate.load(
            cert.public_bytes(serialization.Encoding.DER)))
        assert status.intact
        assert status.valid
        assert status.trusted


# --- keys --------------------------------------------------------------------------------------


def test_keys_create_makes_marked_test_keys_readable_by_the_owner_only(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "k" * 40, "INSTANCE_PATH": str(tmp_path),
                      "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite"})
    runner = app.test_cli_runner()

    made = runner.invoke(args=["certificates", "keys", "create"])
    assert made.exit_code == 0, made.output
    assert "TEST signing key (not for production)" in made.output
    path = tmp_path / "certificate-keys" / "signing.p12"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with app.app_context():
        key = keys.signing_key("vestland")
    assert key.is_test
    assert key.signer_name == "Kursportal (TEST)"

    again = runner.invoke(args=["certificates", "keys", "create"])
    assert again.exit_code != 0
    assert "--force replaces it" in again.output
    kept = runner.invoke(args=["certificates", "keys", "create", "--if-missing"])
    assert kept.exit_code == 0
    assert path.read_bytes() == path.read_bytes()


def test_one_key_per_office_from_a_county_pattern(app, client, make_offering, tmp_path):
    folder = tmp_path / "keys"
    keys.make_test_keys(folder, "Statsforvaltaren i Vestland", name="kursbevis-vestland")
    app.config["CERTIFICATE_SIGNING_KEY"] = str(folder / "kursbevis-{county}.p12")

    data = downloaded_certificate(app, client, make_offering)

    status = pyhanko_status(data, ca_of(str(folder / "kursbevis-vestland.p12")))
    assert status.intact
    assert status.trusted
    assert "Digitalt signert av Statsforvaltaren i Vestland (TEST)." in " ".join(
        pdf_texts(data)[0].split())
    with app.app_context():
        assert keys.key_files(app) == [folder / "kursbevis-vestland.p12"]


def test_a_password_protected_key_opens_with_its_password_and_says_so_without_it(tmp_path):
    made = keys.make_test_keys(tmp_path, "Kontor")
    key, certificate, chain = serialization.pkcs12.load_key_and_certificates(
        made.read_bytes(), None)
    locked = tmp_path / "locked.p12"
    locked.write_bytes(serialization.pkcs12.serialize_key_and_certificates(
        b"k", key, certificate, chain, serialization.BestAvailableEncryption(b"s3cret-pw")))

    assert keys.load_key(locked, "s3cret-pw").signer_name == "Kontor (TEST)"
    with pytest.raises(keys.SigningKeyError) as wrong:
        keys.load_key(locked, "guess")
    assert "wrong CERTIFICATE_SIGNING_PASSWORD" in str(wrong.value)
    assert "guess" not in str(wrong.value)


def test_production_refuses_a_test_key(tmp_path):
    made = keys.make_test_keys(tmp_path / "keys")
    config = {"SECRET_KEY": "k" * 40, "INSTANCE_PATH": str(tmp_path),
              "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite",
              "PUBLIC_BASE_URL": "https://kurs.example.no",
              "CERTIFICATE_SIGNING_KEY": str(made)}
    with pytest.raises(keys.SigningKeyError, match="test key"):
        create_app(config)
    # Unreadable trust roots would fail every check of a file: refused at start too.
    config.update(CERTIFICATE_SIGNING_KEY=None,
                  CERTIFICATE_TRUST_ROOTS=str(tmp_path / "missing.pem"))
    with pytest.raises(keys.SigningKeyError, match="CERTIFICATE_TRUST_ROOTS"):
        create_app(config)


def test_without_a_key_the_certificate_is_handed_out_unsigned_and_logged(
        app, client, make_offering, caplog, tmp_path):
    app.config["CERTIFICATE_SIGNING_KEY"] = None
    app.config["INSTANCE_PATH"] = str(tmp_path)  # no test key there
    app.instance_path = str(tmp_path)
    with caplog.at_level(logging.WARNING, logger="kursportal.certificates"):
        data = downloaded_certificate(app, client, make_offering)

    assert PdfFileReader(BytesIO(data)).embedded_signatures == []
    assert "Digitalt signert" not in pdf_texts(data)[0]
    assert any("handed out unsigned" in r.getMessage() for r in caplog.records)


# --- a time stamp: PAdES B-T ---------------------------------------------------------------


def _tsa_certificate() -> tuple[asn1_x509.Certificate, asn1_keys.PrivateKeyInfo]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's test TSA
    cert = self_signed(key, "Test time-stamp authority",
                       x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]))
    der_key = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return (asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
            asn1_keys.PrivateKeyInfo.load(der_key))


@pytest.fixture
def time_stamp_authority():
    """An RFC 3161 time-stamp authority over HTTP on a free local port: pyHanko's test TSA
    behind a plain HTTP server. Yields its URL and certificate."""
    certificate, key = _tsa_certificate()
    stamper = DummyTimeStamper(tsa_cert=certificate, tsa_key=key)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
            body = stamper.request_tsa_response(request).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", certificate
    server.shutdown()
    server.server_close()


def test_with_a_time_stamp_authority_the_signature_carries_its_time_stamp(
        app, client, make_offering, time_stamp_authority, signing_key_file, tmp_path):
    url, tsa_certificate = time_stamp_authority
    app.config["CERTIFICATE_TSA_URL"] = url

    data = downloaded_certificate(app, client, make_offering)

    signature = PdfFileReader(BytesIO(data)).embedded_signatures[0]
    context = ValidationContext(trust_roots=[ca_of(signing_key_file)], allow_fetching=False)
    stamps = ValidationContext(trust_roots=[tsa_certificate], allow_fetching=False)
    status = validate_pdf_signature(signature, signer_validation_context=context,
                                    ts_validation_context=stamps)
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.trusted
    assert "Signature Validation: Signature is Valid." in pdfsig(data, tmp_path)


def test_when_the_time_stamp_authority_fails_the_certificate_is_still_signed(
        app, client, make_offering, signing_key_file, caplog):
    app.config["CERTIFICATE_TSA_URL"] = "http://127.0.0.1:9/"  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="kursportal.certificates"):
        data = downloaded_certificate(app, client, make_offering)

    status = pyhanko_status(data, ca_of(signing_key_file))
    assert status.intact
    assert status.trusted
    assert status.timestamp_validity is None
    assert any("without a time stamp" in r.getMessage() for r in caplog.records)


def test_signing_works_where_an_event_loop_already_runs(signing_key_file):
    """Playwright's sync API keeps an event loop running in the test's thread; an async server
    would too. Signing there gets a loop of its own instead of failing."""
    from certificates.pdf import build_certificate
    from certificates.signing import sign_pdf
    from tests.test_certificates import sample_page

    key = keys.load_key(Path(signing_key_file), None)

    async def inside_a_loop() -> bytes:
        return sign_pdf(build_certificate(sample_page()), key.signer, reason="r", name="n")

    signed = asyncio.run(inside_a_loop())
    assert pyhanko_status(signed, ca_of(signing_key_file)).intact

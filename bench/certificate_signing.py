"""Benchmark: signed certificates of attendance per second, each its own signed PDF, on one core.

What a participant downloads: one certificate drawn by ``certificates.pdf`` and signed (PAdES,
invisible signature) with an RSA 3072 key, the key Norwegian issuers' enterprise certificates
(SEID 2.0) have. Timed from the certificate's words to the signed file's bytes, in the same
run, for:

- ours: ``certificates.signing.sign_pdf`` with the key's ``TemplateSigner`` (what
  ``certificates.printing.signed_certificate`` does);
- the obvious way: pyHanko's ``signers.sign_pdf`` with default settings and a ``SimpleSigner``
  loaded once from the PKCS#12 file (the issue measured 6 documents/s on this kind of machine);
- the steps between, to show what each is worth: the signature's size reserved (no dry run),
  then the key loaded once as well (pyHanko builds the CMS), and the PDF alone, unsigned.

Each is run ``--repeat`` times (default 5) over ``--n`` certificates (default 200; the obvious
way over ``--baseline-n``, default 60: its rate does not depend on the count); medians and
ratios are printed, and the figures written to ``bench/results/certificate_signing.json``.
One signed file of each kind is checked with pyHanko's validator before the clock starts.
The process is pinned to one CPU (``--cpu``).

    .venv/bin/python bench/certificate_signing.py [--n 200] [--repeat 5] [--baseline-n 60]
        [--key-type rsa|ec] [--cpu 0]

(Not ``bench/certificates.py``: a script of that name would hide the ``certificates`` package
from ``import certificates``, see tests/test_bench_setup.py.)

Goals (issue 18): ours ≥ 50 signed certificates/s on one core and ≥ 5× the obvious way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pyhanko.version
from asn1crypto import x509 as asn1_x509
from certificate_pdfs import pin, sample_pages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from certificates import pdf as certificate_pdf
from certificates.keys import load_key, make_test_keys
from certificates.pdf import CertificatePage, build_certificate
from certificates.signing import TemplateSigner, reserved_bytes, sign_pdf, signature_metadata

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "certificate_signing.json"
GOAL_PER_SECOND = 50
GOAL_VS_OBVIOUS = 5
SIGNED_LINE = ("Digitalt signert av Statsforvaltaren i Vestland. For å kontrollere signaturen, "
               "opne fila i ein PDF-lesar, eller last ho opp på https://kurs.example.no/verify.")


class KeyOnceSigner(TemplateSigner):
    """The key loaded once, but the CMS built by pyHanko for every signature (no template)."""

    async def async_sign(self, *args, **kwargs):  # noqa: D102
        return await signers.SimpleSigner.async_sign(self, *args, **kwargs)


def make_key(folder: Path, key_type: str) -> Path:
    """The test key file: RSA 3072 from ``certificates.keys``, or an EC P-256 key instead."""
    path = make_test_keys(folder, "Statsforvaltaren i Vestland")
    if key_type == "rsa":
        return path
    key = ec.generate_private_key(ec.SECP256R1())
    # Self-signed: the chain does not matter for the speed of signing.
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Vestland (EC)")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(hours=1))
                   .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"ec", key, certificate, None, serialization.NoEncryption()))
    return path


def obvious(path: Path) -> Callable[[CertificatePage], bytes]:
    """pyHanko's sign_pdf with default settings, the signer loaded once from the file."""
    signer = signers.SimpleSigner.load_pkcs12(str(path), passphrase=None)
    metadata = signers.PdfSignatureMetadata(field_name="Signature1")

    def run(page: CertificatePage) -> bytes:
        writer = IncrementalPdfFileWriter(BytesIO(build_certificate(page)))
        return signers.sign_pdf(writer, metadata, signer=signer).getvalue()
    return run


def reserved(path: Path) -> Callable[[CertificatePage], bytes]:
    """Step 1: the signature's room reserved, so pyHanko signs once, not twice."""
    signer = signers.SimpleSigner.load_pkcs12(str(path), passphrase=None)
    pdf_signer = signers.PdfSigner(signature_metadata("Kursbevis", "Vestland"), signer)

    def run(page: CertificatePage) -> bytes:
        output = BytesIO()
        writer = IncrementalPdfFileWriter(BytesIO(build_certificate(page)))
        asyncio.run(pdf_signer.async_sign_pdf(writer, output=output,
                                              bytes_reserved=reserved_bytes(signer, False)))
        return output.getvalue()
    return run


def key_once(path: Path) -> Callable[[CertificatePage], bytes]:
    """Step 2: and the key loaded once (pyHanko still builds each CMS)."""
    key = load_key(path, None)
    signer = KeyOnceSigner(key.signer, key.signer._private_key)
    return lambda page: sign_pdf(build_certificate(page), signer, reason="Kursbevis",
                                 name="Vestland")


def ours(path: Path) -> Callable[[CertificatePage], bytes]:
    """What the application does."""
    key = load_key(path, None)
    return lambda page: sign_pdf(build_certificate(page), key.signer, reason="Kursbevis",
                                 name=key.signer_name)


def check(label: str, data: bytes, path: Path) -> None:
    """The signed file is intact and chains to the key's certificate (or its CA)."""
    _key, certificate, chain = pkcs12.load_key_and_certificates(path.read_bytes(), None)
    roots = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
             for c in (chain or [certificate])]
    signature = PdfFileReader(BytesIO(data)).embedded_signatures[0]
    status = validate_pdf_signature(
        signature, signer_validation_context=ValidationContext(trust_roots=roots))
    if not (status.intact and status.valid and status.trusted):
        raise SystemExit(f"{label}: the signature does not validate ({status.summary()})")


def measure(label: str, sign: Callable[[CertificatePage], bytes],
            pages: Sequence[CertificatePage], repeat: int) -> dict:
    """Sign every page into its own file ``repeat`` times; the median rate and the spread."""
    for page in pages[:3]:
        sign(page)  # warm up: imports, fonts, the key's template
    seconds, size = [], 0
    for _ in range(repeat):
        certificate_pdf.wrap.cache_clear()
        certificate_pdf.fitting_size.cache_clear()
        started = time.perf_counter()
        for page in pages:
            size = len(sign(page))
        seconds.append(time.perf_counter() - started)
    rates = sorted(len(pages) / s for s in seconds)
    result = {"label": label, "documents": len(pages), "rate": statistics.median(rates),
              "low": rates[0], "high": rates[-1], "kib": size / 1024}
    print(f"{label:<52} {len(pages):>5} {result['rate']:>9.1f} "
          f"{rates[0]:>8.1f}–{rates[-1]:<8.1f}{result['kib']:>7.1f}", flush=True)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the table, the ratios and whether the goals are met."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="certificates signed per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each way")
    parser.add_argument("--baseline-n", type=int, default=60,
                        help="certificates per run for the obvious way (it is slow)")
    parser.add_argument("--key-type", choices=("rsa", "ec"), default="rsa")
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: first)")
    args = parser.parse_args(argv)

    pinned = pin(args.cpu)
    pages = [replace(page, signed_line=SIGNED_LINE)
             for page in sample_pages(max(args.n, args.baseline_n))]
    with tempfile.TemporaryDirectory() as folder:
        path = make_key(Path(folder), args.key_type)
        ways = [("the obvious way: pyHanko sign_pdf, defaults", obvious(path), args.baseline_n),
                ("step 1: signature size reserved (no dry run)", reserved(path), args.baseline_n),
                ("step 2: and the key loaded once", key_once(path), args.n),
                ("ours: and the CMS from the key's template", ours(path), args.n)]
        for label, sign, _count in ways:
            check(label, sign(pages[0]), path)
        print(f"Signed certificates, each its own PDF, {args.repeat} runs each; {pinned}.")
        print(f"Python {platform.python_version()}, pyHanko {pyhanko.version.__version__}, "
              f"{args.key_type.upper()} key, {platform.machine()}")
        print(f"{'way':<52} {'docs':>5} {'docs/s':>9} {'min–max docs/s':>17}{'KiB':>7}")
        unsigned = measure("(the PDF alone, unsigned)", build_certificate, pages[:args.n],
                           args.repeat)
        results = [measure(label, sign, pages[:count], args.repeat)
                   for label, sign, count in ways]
    best, baseline = results[-1], results[0]
    print()
    checks = [(f"ours ≥ {GOAL_PER_SECOND} signed/s", best["rate"],
               best["rate"] >= GOAL_PER_SECOND, "docs/s"),
              (f"ours ≥ {GOAL_VS_OBVIOUS}× the obvious way", best["rate"] / baseline["rate"],
               best["rate"] >= GOAL_VS_OBVIOUS * baseline["rate"], "×")]
    for goal, value, met, unit in checks:
        print(f"{goal:<34} {value:>8.1f} {unit:<7} {'met' if met else 'NOT MET'}")
    print(f"signing's share of ours: {1 - best['rate'] / unsigned['rate']:.0%} of the time")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "script": "certificate_signing", "measured_at": datetime.now(UTC).isoformat(
            timespec="seconds"), "machine": f"{platform.machine()}, {pinned}",
        "key_type": args.key_type, "unsigned": unsigned, "ways": results,
    }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"figures written to {RESULTS.relative_to(ROOT)}")
    return 0 if all(met for _goal, _value, met, _unit in checks) else 1


if __name__ == "__main__":
    sys.exit(main())

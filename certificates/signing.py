"""Signing certificate PDFs (PAdES baseline B-B, or B-T with an RFC 3161 time stamp) with pyHanko.

pyHanko writes the signature into the PDF as an incremental update: a signature field and its
dictionary, the byte ranges, and the CMS signature (``ETSI.CAdES.detached``) over those bytes.
Used the obvious way (``signers.sign_pdf`` with default settings) it signs a few documents a
second; three things cost that time, and this module avoids each:

- ``SimpleSigner`` loads the private key from DER for every signature (tens of milliseconds for
  an RSA key, whose loading checks the key). :class:`TemplateSigner` loads it once.
- Without a reserved size pyHanko signs every document twice, the first time to learn how big
  the signature will be. We reserve room from what the key's certificates take
  (:func:`reserved_bytes`), with a margin, and more for a time-stamp token.
- The CMS structure is built from asn1crypto objects for every signature, although for one key
  everything in it is the same except the document's digest and the signature value. The
  signer builds it once per key through pyHanko (:meth:`TemplateSigner._template`) and then
  only fills in those two, checking at build time that the parts put together again give
  pyHanko's bytes exactly. With a time stamp (B-T), which needs a round trip to the authority
  anyway, pyHanko builds the whole structure as usual.

``bench/certificates.py`` measures the difference.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO

from asn1crypto import cms
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import get_pyca_cryptography_hash
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper

# Room kept in the file for the signature beyond the certificates it embeds: the signed
# attributes and the signature value (under 1 kB for RSA 4096), with a margin; and for a
# time-stamp token with the authority's certificates.
SIGNATURE_ROOM = 3072
TIME_STAMP_ROOM = 12288
DIGEST = "sha256"
FIELD_NAME = "Kursbevis"
# A random digest for building a key's template: its bytes are looked up in the result.
_PROBE_DIGEST = bytes.fromhex("8f3c2a71d9e04b56" * 4)


def _der(tag: int, body: bytes) -> bytes:
    """One DER element: the tag byte, the definite length, the content."""
    size = len(body)
    if size < 0x80:
        return bytes((tag, size)) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + body


@dataclass(frozen=True)
class _Template:
    """The fixed parts of one key's CMS signature, around the digest and the signature."""

    content_info_head: bytes   # the ContentInfo's type, as DER
    signed_data_head: bytes    # version, digest algorithms, encapsulated content, certificates
    signer_info_head: bytes    # version, signer identifier, digest algorithm
    attributes_before: bytes   # the signed attributes up to the document's digest
    attributes_after: bytes    # the signed attributes after it
    signature_algorithm: bytes

    def build(self, digest: bytes, sign) -> bytes:
        """The CMS ContentInfo (DER) for a document with ``digest``; ``sign`` signs bytes."""
        attributes = self.attributes_before + digest + self.attributes_after
        # The signature covers the attributes encoded as a SET OF (RFC 5652, 5.4).
        signature = sign(_der(0x31, attributes))
        signer_info = _der(0x30, self.signer_info_head + _der(0xA0, attributes)
                           + self.signature_algorithm + _der(0x04, signature))
        signed_data = _der(0x30, self.signed_data_head + _der(0x31, signer_info))
        return _der(0x30, self.content_info_head + _der(0xA0, signed_data))


class TemplateSigner(signers.SimpleSigner):
    """A pyHanko signer for a key in memory that loads the key once and builds each signature
    from the key's template (see the module's description). Anything else pyHanko asks of it
    (a dry run, a time stamp, other attributes) goes the library's own way."""

    def __init__(self, base: signers.SimpleSigner, private_key):
        super().__init__(signing_cert=base.signing_cert, signing_key=base.signing_key,
                         cert_registry=base.cert_registry)
        self._private_key = private_key
        self._templates: dict[str, _Template] = {}

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:  # noqa: D102
        algorithm = get_pyca_cryptography_hash(digest_algorithm)
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._private_key, RSAPrivateKey):
            return self._private_key.sign(data, PKCS1v15(), algorithm)
        if mechanism == "ecdsa" and isinstance(self._private_key, EllipticCurvePrivateKey):
            return self._private_key.sign(data, ECDSA(algorithm))
        return super().sign_raw(data, digest_algorithm)

    async def async_sign(self, data_digest: bytes, digest_algorithm: str, dry_run=False,
                         use_pades=False, timestamper=None, signed_attr_settings=None,
                         is_pdf_sig=True, encap_content_info=None) -> cms.ContentInfo:
        """A CMS signature of ``data_digest``: from the template for a plain PAdES signature,
        otherwise as pyHanko builds it."""
        plain = (use_pades and is_pdf_sig and timestamper is None and encap_content_info is None
                 and (signed_attr_settings is None
                      or (signed_attr_settings.cades_signed_attrs is None
                          and signed_attr_settings.adobe_revinfo_attr is None)))
        if not plain:
            return await super().async_sign(
                data_digest, digest_algorithm, dry_run=dry_run, use_pades=use_pades,
                timestamper=timestamper, signed_attr_settings=signed_attr_settings,
                is_pdf_sig=is_pdf_sig, encap_content_info=encap_content_info)
        template = self._templates.get(digest_algorithm)
        if template is None:
            template = await self._template(digest_algorithm)
            self._templates[digest_algorithm] = template
        der = template.build(data_digest, lambda data: self.sign_raw(data, digest_algorithm))
        return cms.ContentInfo.load(der)

    async def _template(self, digest_algorithm: str) -> _Template:
        """Have pyHanko build one signature, cut it into its fixed parts, and check that the
        parts give pyHanko's bytes again."""
        built = await super().async_sign(_PROBE_DIGEST, digest_algorithm, use_pades=True)
        signed_data = built["content"]
        signer_info = signed_data["signer_infos"][0]
        attributes = signer_info["signed_attrs"].dump()
        attributes = attributes[len(attributes) - len(signer_info["signed_attrs"].contents):]
        before, probe, after = attributes.partition(_PROBE_DIGEST)
        if not probe or _PROBE_DIGEST in after:
            raise RuntimeError("the signed attributes hold the document's digest once")
        heads = [signed_data[name].dump() for name in
                 ("version", "digest_algorithms", "encap_content_info", "certificates")]
        if signed_data["crls"].native is not None:
            heads.append(signed_data["crls"].dump())
        template = _Template(
            content_info_head=built["content_type"].dump(),
            signed_data_head=b"".join(heads),
            signer_info_head=b"".join(signer_info[name].dump() for name in
                                      ("version", "sid", "digest_algorithm")),
            attributes_before=before, attributes_after=after,
            signature_algorithm=signer_info["signature_algorithm"].dump(),
        )
        signature = signer_info["signature"].native
        if template.build(_PROBE_DIGEST, lambda _data: signature) != built.dump():
            raise RuntimeError("pyHanko's signature has a shape the template does not know")
        return template


def signature_metadata(reason: str, name: str) -> signers.PdfSignatureMetadata:
    """A PAdES signature's dictionary: the reason and the signer's name PDF readers show."""
    return signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, md_algorithm=DIGEST, reason=reason, name=name,
        subfilter=fields.SigSeedSubFilter.PADES,
    )


def reserved_bytes(signer: signers.SimpleSigner, timestamped: bool) -> int:
    """The room to reserve for the signature: pyHanko counts it in the file's hexadecimal
    characters, two for each byte of the signature's DER."""
    certificates = sum(len(c.dump()) for c in (signer.signing_cert, *signer.cert_registry))
    room = certificates + SIGNATURE_ROOM + (TIME_STAMP_ROOM if timestamped else 0)
    return 2 * -(-room // 1024) * 1024


def sign_pdf(pdf: bytes, signer: signers.SimpleSigner, *, reason: str, name: str,
             timestamper: TimeStamper | None = None) -> bytes:
    """``pdf`` with an invisible PAdES signature appended (B-T with ``timestamper``)."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    pdf_signer = signers.PdfSigner(signature_metadata(reason, name), signer,
                                   timestamper=timestamper)
    output = BytesIO()
    coroutine = pdf_signer.async_sign_pdf(
        writer, output=output, bytes_reserved=reserved_bytes(signer, timestamper is not None))
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine)
    else:
        # Called where an event loop runs in this thread (a test driving a browser, an async
        # server): pyHanko's coroutine gets a loop of its own in a thread of its own.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, coroutine).result()
    return output.getvalue()


def time_stamper(url: str | None) -> TimeStamper | None:
    """The RFC 3161 time-stamp authority at ``url`` (PAdES B-T), or None for B-B."""
    return HTTPTimeStamper(url) if url else None

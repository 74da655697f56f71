"""Payload encryption (guide 7.4 服务档案安全与保密, PIPL): everything Temporal stores for a case
(inputs, update arguments, results, summaries, failure messages) is AES-256-GCM encrypted by the
client and the worker, so the server, its database and the Web UI hold no clear-text personal data.
Ops read payloads through the codec server (`starter.codec_server`), which holds the same keys.

Keys never live in the repository. Either variable (read by edge.settings) holds the key ring, newest
first: the first key encrypts, every key decrypts, so a new key is put first and old ones stay until no
open case or kept history needs them.
  TELECOM_CODEC_KEYS       "kid1:<base64 of 32 bytes>,kid0:<...>"
  TELECOM_CODEC_KEY_FILE   a file with one "kid:<base64>" per line ('#' starts a comment)
A key: `python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"`. The key
file must be readable by its owner only (mode 600 or 400).

With a key ring configured, the worker opens only encrypted payloads: a clear-text one (a plain
`temporal workflow start --input …`) is refused as `PayloadNotEncrypted`, and one that does not
open (unknown key id, altered or truncated) as `UndecryptablePayload`; either fails that case or
refuses that update, at once and for good. `TELECOM_MODE=production` refuses to start without a
key ring (edge.settings), so clear text cannot reach Temporal by a missing variable.

The format, for a codec in another language: each payload is replaced by one with metadata
`encoding` = `binary/encrypted` and `encryption-key-id` = the key id (UTF-8), and data = a 12-byte
random nonce followed by AES-256-GCM(key, nonce, plaintext = the original Payload message in
protobuf binary form, associated data = the key id in UTF-8), the 16-byte tag last as GCM appends it.
A Payload message of `COMPRESS_FROM` bytes or more (a status, a policy) is compressed with zlib
(RFC 1950) before it is encrypted, when that makes it smaller: such a payload also has metadata
`encryption-compression` = `zlib`, and its associated data is the key id, a NUL byte and `zlib`, so the
label cannot be removed or added without failing authentication. Compression before encryption lets
the ciphertext's length depend on how repetitive the clear text is; nobody who sees only lengths can
choose part of a case's payload and observe it many times over, which such a leak needs.
`TELECOM_CODEC_COMPRESSION=off` (edge.settings) writes uncompressed payloads, for a rolling upgrade
while workers of a version that cannot read compressed payloads still run; every version reads both.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
import stat
import zlib
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
    PayloadConverter,
)
from temporalio.exceptions import ApplicationError

from models.errors import UNDECRYPTABLE, VALIDATION_ERROR
from models.identity import KID

from .converter import ENCRYPTED, contract_data_converter, refused_payload
from .key_rings import Ring, parse_entries

KEYS_VARIABLE, KEY_FILE_VARIABLE = "TELECOM_CODEC_KEYS", "TELECOM_CODEC_KEY_FILE"
NOT_ENCRYPTED = "PayloadNotEncrypted"
ENCODING = ENCRYPTED
KEY_ID = "encryption-key-id"
COMPRESSION, ZLIB = "encryption-compression", b"zlib"
NONCE_BYTES, TAG_BYTES = 12, 16
COMPRESS_FROM = 256
"""Bytes of a Payload message from which compressing it is worth a try (a status is 1-2 KB)."""
MAX_OPENED_BYTES = 8 * 1024 * 1024
"""What a compressed payload may open to: four times Temporal's default 2 MB payload limit."""
MAX_LAYERS = 4
"""The temporal CLI encrypts an update argument again each time it resends it (seen when a worker is
slow to accept an update): the layers it could only have made with our keys are opened in turn."""
CLEAR_REFUSALS = frozenset({VALIDATION_ERROR, "InvalidInput", "InvalidAction", NOT_ENCRYPTED, UNDECRYPTABLE,
                            "UnknownWorkflowType", "UnknownUpdate", "UnknownQuery"})
"""The contract's refusals: their messages name fields, states, ids and key ids, never a value, so
they stay readable without the codec (the CLI, and query failures, which no client can decode)."""

log = logging.getLogger("telecom.payloads")


class KeyRingError(ValueError):
    """A key ring that cannot be used; the message names the variable and key id, never a key."""


class UndecryptablePayload(ValueError):
    """A payload this key ring cannot open: unknown key id, or tampered or truncated data."""


@dataclasses.dataclass(frozen=True, repr=False)  # again: the check below runs after Ring's __init__
class KeyRing(Ring):
    """Key id → 256-bit key, newest first."""

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyRingError("a key ring needs at least one key")
        for kid, key in self.keys.items():
            if not re.fullmatch(KID, kid):
                raise KeyRingError(f"key id {kid!r}: use 1-64 letters, digits, '.', '_' or '-'")
            if len(key) != 32:
                raise KeyRingError(f"key {kid!r} has {len(key)} bytes; AES-256 needs exactly 32")

    @classmethod
    def parse(cls, text: str, source: str) -> KeyRing:
        """`kid:base64` entries separated by commas or new lines; `#` comments and blanks ignored."""
        keys = parse_entries(text, source, KeyRingError)
        try:
            return cls(keys)
        except KeyRingError as error:
            raise KeyRingError(f"{source}: {error}") from None

    @classmethod
    def from_file(cls, path: Path) -> KeyRing:
        """One `kid:base64` per line; the file must be readable by its owner only."""
        source = f"{KEY_FILE_VARIABLE} ({path})"
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise KeyRingError(f"{source} is open to other users (mode {stat.S_IMODE(mode):o}); make it "
                                   "readable by its owner only: chmod 600")
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise KeyRingError(f"{source}: cannot read it: {error.strerror}") from None
        except UnicodeDecodeError:
            raise KeyRingError(f"{source}: not UTF-8 text") from None
        return cls.parse(text, source)

    @classmethod
    def configured(cls, text: str | None, path: Path | None) -> KeyRing | None:
        """The ring of TELECOM_CODEC_KEYS (`text`) or TELECOM_CODEC_KEY_FILE (`path`), or None when
        neither is set (development)."""
        text = (text or "").strip()
        if text and path is not None:
            raise KeyRingError(f"set {KEYS_VARIABLE} or {KEY_FILE_VARIABLE}, not both")
        if path is not None:
            return cls.from_file(path)
        return cls.parse(text, KEYS_VARIABLE) if text else None


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM per payload: a fresh nonce, the key id in the metadata and authenticated with
    the data (a payload relabelled with another key id fails to open).

    `strict` (the worker's and the starter's): a payload that is not encrypted, or does not open,
    is handed on as a refusal that the converter turns into a typed, non-retryable error where the
    payload is used. Otherwise (the codec server, for reading) clear text passes and a payload that
    does not open raises `UndecryptablePayload`."""

    def __init__(self, keys: KeyRing, *, strict: bool = True, compress: bool = True) -> None:
        self.keys = keys
        self.strict = strict
        self.compress = compress
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        kid = self.keys.current
        cipher = self._ciphers[kid]
        encoded = []
        for payload in payloads:
            clear = payload.SerializeToString()
            metadata, associated = {"encoding": ENCODING, KEY_ID: kid.encode()}, kid.encode()
            packed = zlib.compress(clear) if self.compress and len(clear) >= COMPRESS_FROM else clear
            if len(packed) < len(clear):
                clear, metadata[COMPRESSION], associated = packed, ZLIB, associated + b"\0" + ZLIB
            nonce = os.urandom(NONCE_BYTES)
            encoded.append(Payload(metadata=metadata, data=nonce + cipher.encrypt(nonce, clear, associated)))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decode(p) for p in payloads]

    def _decode(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            if not self.strict:
                return payload
            return refused_payload(NOT_ENCRYPTED, "clear-text payload refused: personal data must not reach Temporal "
                                   "unencrypted; send through the codec (temporal … --codec-endpoint URL "
                                   "--codec-auth 'Bearer TOKEN', or an SDK client with the key ring)")
        try:
            for _ in range(MAX_LAYERS):
                payload = self.open(payload)
                if payload.metadata.get("encoding") != ENCODING:
                    return payload
            raise UndecryptablePayload(f"payload is encrypted more than {MAX_LAYERS} times over")
        except UndecryptablePayload as error:
            if not self.strict:
                raise
            return refused_payload(UNDECRYPTABLE, str(error))

    def open(self, payload: Payload) -> Payload:
        kid = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise UndecryptablePayload(
                f"payload is encrypted with key id {kid!r}, which is not configured (configured: "
                f"{', '.join(self.keys.keys)}); add that key to {KEYS_VARIABLE} or {KEY_FILE_VARIABLE}")
        if len(payload.data) < NONCE_BYTES + TAG_BYTES:
            raise UndecryptablePayload(f"payload under key id {kid!r} is {len(payload.data)} bytes, too short to "
                                       "hold a nonce and a tag: truncated")
        compression = payload.metadata.get(COMPRESSION)
        if compression not in (None, ZLIB):
            raise UndecryptablePayload(f"payload under key id {kid!r} is compressed with "
                                       f"{compression.decode(errors='replace')!r}; only zlib is known")
        associated = kid.encode() + (b"\0" + ZLIB if compression else b"")
        try:
            clear = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], associated)
        except InvalidTag:
            raise UndecryptablePayload(f"payload under key id {kid!r} fails authentication: "
                                       "altered, truncated or encrypted with a different key") from None
        if compression:
            clear = _inflate(clear, kid)
        try:
            return Payload.FromString(clear)
        except DecodeError:
            raise UndecryptablePayload(f"payload under key id {kid!r} opens to no Payload message") from None


def _inflate(packed: bytes, kid: str) -> bytes:
    """zlib's inflate, bounded: an authenticated payload came from a holder of the key, but a bug
    there should not cost this process its memory."""
    inflater = zlib.decompressobj()
    try:
        clear = inflater.decompress(packed, MAX_OPENED_BYTES)
    except zlib.error:
        raise UndecryptablePayload(f"payload under key id {kid!r} does not decompress") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise UndecryptablePayload(f"payload under key id {kid!r} opens to more than {MAX_OPENED_BYTES} bytes, "
                                   "or is cut short")
    return clear


class ContractFailureConverter(DefaultFailureConverterWithEncodedAttributes):
    """Failure messages and stack traces go through the codec (an error from a library may quote
    input), except the contract's refusals (`CLEAR_REFUSALS`), whose message stays in clear."""

    _clear = DefaultFailureConverter()

    def to_failure(self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure) -> None:
        if (isinstance(exception, ApplicationError) and exception.type in CLEAR_REFUSALS
                and exception.__cause__ is None):
            self._clear.to_failure(exception, payload_converter, failure)
            failure.stack_trace = ""  # an answer to the caller, not a bug to trace
        else:
            super().to_failure(exception, payload_converter, failure)


def data_converter(keys: KeyRing | None = None, *, compress: bool = True) -> DataConverter:
    """The one converter of the worker, the starter, the tests and the replayer: the contract's
    pydantic JSON (edge.converter), encrypted when a key ring is given (None: clear text, with a
    warning; production refuses to start without a ring, edge.settings). Failure messages and stack
    traces are encrypted too, as they may quote input values, but for the contract's own refusals
    (`ContractFailureConverter`). `compress`: large payloads are compressed before they are encrypted."""
    if keys is None:
        _warn_unencrypted()
        return contract_data_converter
    return dataclasses.replace(contract_data_converter, payload_codec=EncryptionCodec(keys, compress=compress),
                               failure_converter_class=ContractFailureConverter)


@functools.cache
def _warn_unencrypted() -> None:
    log.warning("!!! %s / %s not set: case payloads (names, phone numbers) are stored in CLEAR TEXT in "
                "Temporal and shown in its Web UI. Development only: configure a key ring in production. !!!",
                KEYS_VARIABLE, KEY_FILE_VARIABLE)

"""The keyed hash of an ID number (spec §1.3): how a person is recognised without keeping their
number. The contract (document types, number formats, masking, the stored form) is models.identity.

The hash key ring is TELECOM_ID_HASH_KEY (edge.settings), newest first: "kid2:<base64>,kid1:<base64>",
each secret at least 32 random bytes
(`python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"`).
The first key hashes; a person is looked up under every key, so a rotation puts the new key first
and keeps the old one until `adapters.key_usage.hash_key_usage` counts no rows under it. A stored
hash names its key: `<kid>$<64 hex>`. A masked citizen number leaves few candidates, so the key is
all that protects the number: a ring that is set is checked in either mode; with
TELECOM_MODE=production an unset key is an error too, while in development (the default) it falls
back to a public development key, with a warning."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from collections.abc import Iterable

from models.identity import CITIZEN_NUMBER_TYPES, LEGACY_KEY_ID, IdentityDocument, IdType, ProtectedIdentity, fold, mask

from .key_rings import Ring, parse_entries

HASH_KEY_VARIABLE = "TELECOM_ID_HASH_KEY"
MIN_SECRET_BYTES = 32
DEV_KEY_ID = "dev"
_DEV_SECRET = b"telecom-service-development-only"
"""Public (it is in the source), hence development only; the built-in key of earlier versions."""

log = logging.getLogger("telecom.identity")


class HashKeyError(ValueError):
    """An unusable TELECOM_ID_HASH_KEY; the message names the variable and key ids, never a key."""


class HashKeyRing(Ring):
    """Key id → HMAC secret, newest first."""


def hash_keys(text: str | None, *, production: bool) -> HashKeyRing:
    """The ring TELECOM_ID_HASH_KEY holds (`text`), or HashKeyError. Unset (None or blank): an error
    in production, the public development key otherwise."""
    return _parse_ring((text or "").strip(), production)


def development_keys() -> HashKeyRing:
    """The public development key, with a warning (once per process): tests and a worker built
    without a configured ring."""
    return _parse_ring("", False)


@functools.lru_cache(maxsize=8)
def _parse_ring(text: str, production: bool) -> HashKeyRing:
    if not text:
        if production:
            raise HashKeyError(f"{HASH_KEY_VARIABLE} is not set: production needs its own key ring, "
                               f"'kid:<base64 of {MIN_SECRET_BYTES} random bytes>'")
        # Cached: logged once per process.
        log.warning("!!! %s is not set: ID numbers are hashed with the PUBLIC development key, from which "
                    "anyone can recover them. Never use this with real customers' data (set "
                    "TELECOM_MODE=production and a key ring). !!!", HASH_KEY_VARIABLE)
        return HashKeyRing({DEV_KEY_ID: _DEV_SECRET})
    keys = parse_entries(text, HASH_KEY_VARIABLE, HashKeyError)
    for kid, secret in keys.items():
        if len(secret) < MIN_SECRET_BYTES:
            raise HashKeyError(f"{HASH_KEY_VARIABLE}: key {kid!r} is too weak: {len(secret)} bytes, at least "
                               f"{MIN_SECRET_BYTES} random bytes are needed")
        if production and secret == _DEV_SECRET:
            raise HashKeyError(f"{HASH_KEY_VARIABLE}: key {kid!r} is the public development key")
    if not keys:
        raise HashKeyError(f"{HASH_KEY_VARIABLE} holds no key")
    return HashKeyRing(keys)


def id_hashes(id_type: IdType, number: str, keys: HashKeyRing) -> list[str]:
    """`<kid>$<HMAC-SHA256 hex>` of the canonical number under every key of the ring, newest
    first: a lookup matches any of them. The three documents that carry the 公民身份号码 hash
    alike, so a person is one person whichever they show."""
    family = "cn-citizen" if id_type in CITIZEN_NUMBER_TYPES else str(id_type)
    message = f"{family}:{fold(number)}".encode()
    return [f"{kid}${hmac.new(secret, message, hashlib.sha256).hexdigest()}" for kid, secret in keys.keys.items()]


def id_hash(id_type: IdType, number: str, keys: HashKeyRing) -> str:
    """The hash to store: under the ring's current (first) key."""
    return id_hashes(id_type, number, keys)[0]


def protect(document: IdentityDocument, keys: HashKeyRing) -> ProtectedIdentity:
    """What is kept of the document: its type, the masked number and the hash under the current key."""
    return ProtectedIdentity(id_type=document.id_type, id_masked=mask(document.id_number),
                             id_hash=id_hash(document.id_type, document.id_number, keys))


def hashes(document: IdentityDocument, keys: HashKeyRing) -> list[str]:
    """The person's hash under every key, current first: what lookups match."""
    return id_hashes(document.id_type, document.id_number, keys)


def hash_list(hashes: str | Iterable[str]) -> list[str]:
    """Lookups take one hash or a person's hashes under every key; a bare str is one hash, not
    its characters."""
    return [hashes] if isinstance(hashes, str) else list(hashes)


def tagged(stored_hash: str) -> str:
    """A hash as stored from now on: one recorded before key ids (bare hex, e.g. in a case that
    was open across the upgrade) gets the id migration 0005 gave such hashes."""
    return stored_hash if "$" in stored_hash else f"{LEGACY_KEY_ID}${stored_hash}"

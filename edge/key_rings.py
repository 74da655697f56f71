"""Key rings as configured (edge.settings), for the payload codec (edge.codec) and the ID hash
(edge.id_hash): `kid:<base64>` entries, newest first; the first key is the current one."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Mapping

from models.identity import KID


@dataclasses.dataclass(frozen=True, repr=False)
class Ring:
    """Key id → secret, newest first."""

    keys: Mapping[str, bytes]

    def __repr__(self) -> str:  # key ids only: a ring in a log or a traceback shows no key
        return f"{type(self).__name__}({', '.join(self.keys)})"

    @property
    def current(self) -> str:
        return next(iter(self.keys))


def parse_entries(text: str, source: str, error: type[ValueError]) -> dict[str, bytes]:
    """`kid:base64` entries separated by commas or new lines; `#` comments and blanks ignored. An
    entry out of shape may be a bare secret: the message says where it is, never what it holds."""
    keys: dict[str, bytes] = {}
    entries = (entry.split("#", 1)[0].strip() for entry in re.split(r"[,\n]", text))
    for n, entry in enumerate(filter(None, entries), 1):
        kid, sep, encoded = (part.strip() for part in entry.partition(":"))
        if not sep:
            raise error(f"{source}: entry {n} is not 'kid:<base64 secret>'")
        if not re.fullmatch(KID, kid):
            raise error(f"{source}: entry {n} is not 'kid:<base64 secret>': key id {kid[:64]!r}: use 1-64 "
                        "letters, digits, '.', '_' or '-'")
        if kid in keys:
            raise error(f"{source}: key id {kid!r} appears twice")
        try:
            keys[kid] = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise error(f"{source}: key {kid!r} is not valid base64") from None
    return keys

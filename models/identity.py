"""Real-name identity (令25号 Art. 6–7): accepted ID documents, their number formats, and how an ID
number is kept — a keyed hash to recognise the person plus a masked form for people, never the
number itself (spec §1.3). The hashing, with its key ring, is edge.id_hash."""

from __future__ import annotations

import re
import string
import unicodedata
from datetime import date
from enum import StrEnum

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from .common import Contract, Inbound

KID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
"""A key id: what names the key of a stored hash (and of an encrypted payload)."""
HASH_MAX_LENGTH = 64 + 1 + 64
"""Column width of a stored hash, `<kid>$<64 hex>`."""
LEGACY_KEY_ID = "legacy"
"""Hashes stored before key ids (bare hex) carry this id from migration 0005 on: keep the old key
in the ring as `legacy:<base64 of its bytes>` to go on recognising those people."""


class IdType(StrEnum):
    """The ID documents 令25号 Art. 7 accepts, and no others: resident_id_card 居民身份证,
    temporary_resident_id_card 临时居民身份证, household_register 户口簿 (its page for the person
    carries their 公民身份号码), military_id 中国人民解放军军人身份证件 / 中国人民武装警察身份证件,
    hk_macao_permit 港澳居民来往内地通行证, taiwan_permit 台湾居民来往大陆通行证,
    foreign_passport 外国公民护照."""

    resident_id_card = "resident_id_card"
    temporary_resident_id_card = "temporary_resident_id_card"
    household_register = "household_register"
    military_id = "military_id"
    hk_macao_permit = "hk_macao_permit"
    taiwan_permit = "taiwan_permit"
    foreign_passport = "foreign_passport"


CITIZEN_NUMBER_TYPES = frozenset({IdType.resident_id_card, IdType.temporary_resident_id_card,
                                  IdType.household_register})
"""Documents that carry the 18-character 公民身份号码 (GB 11643-1999): one person, one number."""


class VerificationSource(StrEnum):
    """How the ID data was obtained. MIIT (2016): from a card reader or online verification only;
    manual entry is not accepted, so it is not a value."""

    card_reader = "card_reader"
    online = "online"


_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]
_CHECK = "10X98765432"
# ASCII classes only, never \d: it also matches Arabic-Indic and other digits that NFKC leaves alone.
_CITIZEN = re.compile(r"[0-9]{6}([0-9]{8})[0-9]{3}[0-9X]")
_FORMATS = {
    IdType.military_id: (re.compile(r"(?:[\u4e00-\u9fa5]{1,4}字第)?[0-9]{6,12}号?"),
                         "6–12 digits, optionally as 军字第…号 / 武字第…号"),
    IdType.hk_macao_permit: (re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?"), "H or M followed by 8 or 10 digits"),
    IdType.taiwan_permit: (re.compile(r"[0-9]{8}"), "8 digits"),
    IdType.foreign_passport: (re.compile(r"[A-Z0-9]{5,17}"), "5–17 letters or digits"),
}
_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def citizen_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a 公民身份号码 (GB 11643-1999)."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def fold(number: str) -> str:
    """NFKC turns full-width (Chinese IME) and other compatibility characters into ASCII, so one
    number typed either way is one number; white space of any kind goes. Only ASCII letters are
    upper-cased: str.upper() would turn 'ß' into 'SS'."""
    return "".join(unicodedata.normalize("NFKC", number).split()).translate(_UPPER)


def normalise_id_number(id_type: IdType, number: str) -> str:
    """The canonical form of `number` for `id_type`; ValueError says what is wrong without
    repeating the number (error messages end up in histories and logs)."""
    number = fold(number)
    if any(ch.isdigit() and not ch.isascii() for ch in number):
        raise ValueError(f"a {id_type} number may use only the digits 0-9: other digits (Arabic-Indic, "
                         "Devanagari, …) are not accepted")
    if id_type in CITIZEN_NUMBER_TYPES:
        match = _CITIZEN.fullmatch(number)
        if match is None:
            raise ValueError(f"a {id_type} number has 18 characters: 17 digits and a check digit (0-9 or X)")
        try:
            born = date(int(match[1][:4]), int(match[1][4:6]), int(match[1][6:]))
        except ValueError:
            raise ValueError(f"characters 7-14 of a {id_type} number are not a valid birth date") from None
        if born.year < 1900:
            raise ValueError(f"characters 7-14 of a {id_type} number are not a valid birth date")
        if citizen_check_digit(number[:17]) != number[17]:
            raise ValueError(f"the check digit of this {id_type} number is wrong (GB 11643-1999 MOD 11-2)")
        return number
    pattern, expected = _FORMATS[id_type]
    if not pattern.fullmatch(number):
        raise ValueError(f"a {id_type} number is {expected}")
    return number


def mask(number: str) -> str:
    """`1101**********1234`: at most the first and last 4 characters stay, never more than a
    quarter of the number each, so short numbers are not exposed either."""
    keep = max(1, min(4, len(number) // 4))
    return number[:keep] + "*" * (len(number) - 2 * keep) + number[-keep:]


class IdentityDocument(Inbound):
    """An ID document as verified at the counter or online (令25号 Art. 6–7)."""

    model_config = ConfigDict(hide_input_in_errors=True)

    id_type: IdType
    id_number: str = Field(repr=False, min_length=1, max_length=40,
                           description="as printed on the document; checked against its type's format")
    verification_source: VerificationSource = Field(
        description="card_reader or online (MIIT 2016); manual entry is refused")

    @field_validator("id_number")
    @classmethod
    def _number_fits_type(cls, number: str, info: ValidationInfo) -> str:
        id_type = info.data.get("id_type")
        return normalise_id_number(id_type, number) if id_type is not None else number

    @field_validator("verification_source", mode="before")
    @classmethod
    def _not_manual(cls, source: object) -> object:
        if source == "manual":
            raise ValueError("manual entry of ID data is not accepted: use a card reader or online "
                             "verification (MIIT 2016, 令25号)")
        return source


class ProtectedIdentity(Contract):
    """What is stored of an ID document: its type, the masked number, and the keyed hash."""

    id_type: IdType
    id_masked: str
    id_hash: str = Field(pattern=rf"^(?:{KID}\$)?[0-9a-f]{{64}}$",
                         description="`<key id>$<HMAC-SHA256 hex>`; the hex alone in results recorded "
                                     "before key ids")

    @property
    def key_id(self) -> str | None:
        """The key that made the hash (None: recorded before key ids, the `legacy` key)."""
        kid, sep, _ = self.id_hash.rpartition("$")
        return kid if sep else None

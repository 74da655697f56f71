"""Real-name identity (令25号 Art. 6–7): accepted ID documents, their number formats, and how an ID
number is kept — a keyed hash to recognise the person plus a masked form for people, never the
number itself (spec §1.3)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from datetime import date
from enum import StrEnum

from pydantic import ConfigDict, Field, field_validator

from .common import Contract

HASH_KEY_ENV = "TELECOM_ID_HASH_KEY"
DEV_HASH_KEY = "telecom-service-development-only"
"""Used when the variable is unset, so development and tests work; production sets its own key."""


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
_CITIZEN = re.compile(r"^\d{6}(\d{8})\d{3}[\dX]$")
_FORMATS = {
    IdType.military_id: (re.compile(r"^(?:[\u4e00-\u9fa5]{1,4}字第)?\d{6,12}号?$"),
                         "6–12 digits, optionally as 军字第…号 / 武字第…号"),
    IdType.hk_macao_permit: (re.compile(r"^[HM]\d{8}(?:\d{2})?$"), "H or M followed by 8 or 10 digits"),
    IdType.taiwan_permit: (re.compile(r"^\d{8}$"), "8 digits"),
    IdType.foreign_passport: (re.compile(r"^[A-Z0-9]{5,17}$"), "5–17 letters or digits"),
}


def citizen_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a 公民身份号码 (GB 11643-1999)."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def normalise_id_number(id_type: IdType, number: str) -> str:
    """The canonical form of `number` for `id_type`; ValueError says what is wrong without
    repeating the number (error messages end up in histories and logs)."""
    number = number.replace(" ", "").upper()
    if id_type in CITIZEN_NUMBER_TYPES:
        match = _CITIZEN.match(number)
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
    if not pattern.match(number):
        raise ValueError(f"a {id_type} number is {expected}")
    return number


def mask(number: str) -> str:
    """`1101**********1234`: at most the first and last 4 characters stay, never more than a
    quarter of the number each, so short numbers are not exposed either."""
    keep = max(1, min(4, len(number) // 4))
    return number[:keep] + "*" * (len(number) - 2 * keep) + number[-keep:]


def id_hash(id_type: IdType, number: str) -> str:
    """HMAC-SHA256 of the canonical number, keyed by TELECOM_ID_HASH_KEY. The three documents
    that carry the 公民身份号码 hash alike, so a person is one person whichever they show."""
    family = "cn-citizen" if id_type in CITIZEN_NUMBER_TYPES else str(id_type)
    key = os.environ.get(HASH_KEY_ENV) or DEV_HASH_KEY
    return hmac.new(key.encode(), f"{family}:{number}".encode(), hashlib.sha256).hexdigest()


class IdentityDocument(Contract):
    """An ID document as verified at the counter or online (令25号 Art. 6–7)."""

    model_config = ConfigDict(hide_input_in_errors=True)

    id_type: IdType
    id_number: str = Field(repr=False, min_length=1, max_length=40,
                           description="as printed on the document; checked against its type's format")
    verification_source: VerificationSource = Field(
        description="card_reader or online (MIIT 2016); manual entry is refused")

    @field_validator("id_number")
    @classmethod
    def _number_fits_type(cls, number: str, info) -> str:
        id_type = info.data.get("id_type")
        return normalise_id_number(id_type, number) if id_type is not None else number

    @field_validator("verification_source", mode="before")
    @classmethod
    def _not_manual(cls, source: object) -> object:
        if source == "manual":
            raise ValueError("manual entry of ID data is not accepted: use a card reader or online "
                             "verification (MIIT 2016, 令25号)")
        return source

    def protect(self) -> ProtectedIdentity:
        return ProtectedIdentity(id_type=self.id_type, id_masked=mask(self.id_number),
                                 id_hash=id_hash(self.id_type, self.id_number))


class ProtectedIdentity(Contract):
    """What is stored of an ID document: its type, the masked number, and the keyed hash."""

    id_type: IdType
    id_masked: str
    id_hash: str = Field(pattern=r"^[0-9a-f]{64}$")

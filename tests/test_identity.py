"""ID numbers: one canonical form whatever the keyboard typed, and the hash key ring — strong keys
only in production, and a rotation that keeps recognising people (models.identity, edge.id_hash)."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from activities.inventory import InventoryChecks
from adapters.billing import DatabaseBilling, seed_account
from adapters.deprovisioning import DatabaseDeprovisioning, seed_line
from adapters.inventory import CustomerLine, DatabaseInventory, IdentityFlag, PoolNumber
from adapters.key_usage import hash_key_usage
from adapters.provisioning import DatabaseOss, ProvisioningOrder
from edge import id_hash as hashing
from edge.id_hash import HashKeyError, HashKeyRing, development_keys, hash_keys, hashes, id_hash, protect, tagged
from edge.settings import Settings, SettingsError
from models.application import OrderRequest, PreReviewRequest
from models.identity import IdentityDocument, IdType, ProtectedIdentity, normalise_id_number
from models.termination import DeprovisionRequest, NumberReclaim
from tests.conftest import rows

ID = "11010519491231002X"
FULL_WIDTH = "１１０１０５　１９４９１２３１　００２ｘ"  # a Chinese IME: full-width digits, letter and spaces
ARABIC_INDIC = "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X"
OLD, NEW = base64.b64encode(b"o" * 32).decode(), base64.b64encode(bytes(range(32))).decode()
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
DEV = development_keys()
PAYLOAD_KEYS = "p1:" + base64.b64encode(bytes(32)).decode()


def document(number: str = ID, id_type: str = "resident_id_card") -> IdentityDocument:
    return IdentityDocument(id_type=id_type, id_number=number, verification_source="card_reader")


def pre_review(engine, number: str, keys: HashKeyRing = DEV):
    return InventoryChecks(DatabaseInventory(engine), keys).pre_review(PreReviewRequest(
        applicant=document(number), proxy=None, service_type="mobile", region="urban", counted_services=["mobile"]))


def line(order_id: str, holder_hash: str, line_id: str = "13900000001") -> CustomerLine:
    return CustomerLine(order_id=order_id, holder_hash=holder_hash, customer_ref="CUST-1", service_type="mobile",
                        line_id=line_id, status="active", activated_at=NOW)


def test_full_width_and_ascii_forms_are_one_person_for_the_line_limit(engine):
    assert document(FULL_WIDTH).id_number == ID and protect(document(FULL_WIDTH), DEV) == protect(document(ID), DEV)
    DatabaseInventory(engine).activate_line(line("OLD-1", id_hash(IdType.resident_id_card, ID, DEV)))
    assert pre_review(engine, FULL_WIDTH).active_lines == 1  # the real activity, against the database


@pytest.mark.parametrize("id_type, number", [
    ("resident_id_card", ARABIC_INDIC),
    ("household_register", ID[:6] + "١٩٤٩" + ID[10:]),
    ("military_id", "军字第१२३४५६号"),  # Devanagari
    ("hk_macao_permit", "H١٢٣٤٥٦٧٨"),
    ("taiwan_permit", "١٢٣٤٥٦٧٨"),
    ("foreign_passport", "E١٢٣٤٥٦٧٨"),
])
def test_digits_nfkc_does_not_fold_are_refused_without_repeating_the_number(id_type, number):
    with pytest.raises(ValidationError) as refused:
        document(number, id_type)
    message = str(refused.value)
    assert "only the digits 0-9" in message and number not in message and number[-4:] not in message


def test_every_format_is_ascii_and_whole():
    assert normalise_id_number(IdType.hk_macao_permit, "ｈ１２３４５６７８") == "H12345678"
    assert normalise_id_number(IdType.foreign_passport, "e1234567") == "E1234567"
    with pytest.raises(ValueError, match="5–17 letters or digits"):  # str.upper() would make 'SS' of it
        normalise_id_number(IdType.foreign_passport, "Eß12345")
    with pytest.raises(ValueError, match="8 digits"):
        normalise_id_number(IdType.taiwan_permit, "12345678\n9")  # white space goes, the number stays whole


def test_production_refuses_to_hash_without_a_key():
    with pytest.raises(HashKeyError, match="TELECOM_ID_HASH_KEY is not set"):
        hash_keys(None, production=True)
    settings = Settings.from_environ({"TELECOM_MODE": "production", "TELECOM_CODEC_KEYS": PAYLOAD_KEYS})
    with pytest.raises(SettingsError, match="TELECOM_ID_HASH_KEY is not set"):
        settings.id_hash_keys()  # what the worker asks for at start
    with pytest.raises(SettingsError, match="TELECOM_MODE"):
        Settings.from_environ({"TELECOM_MODE": "prod"})


def test_development_falls_back_to_the_public_key_and_says_so_once(caplog):
    hashing._parse_ring.cache_clear()
    with caplog.at_level(logging.WARNING, "telecom.identity"):
        assert hash_keys(None, production=False).current == development_keys().current == "dev"
        assert Settings.from_environ({}).id_hash_keys().current == "dev"
    assert len(caplog.records) == 1 and "PUBLIC development key" in caplog.records[0].getMessage()


@pytest.mark.parametrize("value, problem", [
    (f"k1:{base64.b64encode(b'x' * 31).decode()}", "too weak: 31 bytes"),
    ("k1:correct-horse-battery-staple-correct-horse", "not valid base64"),
    (NEW, "entry 1 is not 'kid:<base64 secret>'"),  # the secret alone: never echoed
    (f"k1:{NEW},k/2:{OLD}", "entry 2 is not"),
    (f"k1:{NEW},k1:{OLD}", "'k1' appears twice"),
    (f"dev:{base64.b64encode(b'telecom-service-development-only').decode()}", "public development key"),
    (" , ", "holds no key"),
])
def test_a_weak_or_malformed_key_is_refused_without_showing_it(value, problem):
    with pytest.raises(HashKeyError) as refused:
        hash_keys(value, production=True)
    assert problem in str(refused.value) and "TELECOM_ID_HASH_KEY" in str(refused.value)
    assert NEW not in str(refused.value) and OLD not in str(refused.value) and "horse" not in str(refused.value)


def test_a_ring_shows_its_key_ids_only():
    keys = hash_keys(f"new:{NEW}, old:{OLD}", production=True)
    assert list(keys.keys) == ["new", "old"] and repr(keys) == str(keys) == "HashKeyRing(new, old)"


def test_each_stored_hash_names_its_key(engine):
    protected = protect(document(), hash_keys(f"new:{NEW}", production=True))
    assert protected.key_id == "new" and protected.id_hash.startswith("new$") and len(protected.id_hash) == 68
    order = OrderRequest(order_id="ORD-1", workflow_id="application-1", service_type="mobile", region="urban",
                         requested_start_date=date(2026, 3, 2), holder_hash=protected.id_hash,
                         customer_ref="CUST-1", submitted_at=NOW)
    inventory = DatabaseInventory(engine)
    DatabaseOss(engine, inventory).submit(order)
    [stored] = {row.holder_hash for table in (ProvisioningOrder, CustomerLine, PoolNumber)
                for row in rows(engine, table) if row.holder_hash}
    assert stored == protected.id_hash
    assert hash_key_usage(engine) == {"new": {"customerline": 1, "poolnumber": 1, "provisioningorder": 1}}
    # A case recorded before key ids (PreReviewResult holds the bare hex): stored under `legacy`.
    old = ProtectedIdentity(id_type="resident_id_card", id_masked="1101**********002X", id_hash="a" * 64)
    assert old.key_id is None and tagged(old.id_hash) == "legacy$" + "a" * 64


def test_after_a_rotation_old_hashes_still_find_the_person(engine):
    old = protect(document(), hash_keys(f"old:{OLD}", production=True)).id_hash
    DatabaseInventory(engine).activate_line(line("OLD-1", old))
    seed_account(engine, "ACCT-1", "CUST-1", old)
    seed_line(engine, "CUST-1", old, "mobile", "13900000002")
    with Session(engine) as session, session.begin():
        session.add(IdentityFlag(holder_hash=old, reason="反诈名单", flagged_at=NOW))

    rotated = hash_keys(f"new:{NEW},old:{OLD}", production=True)  # the new key first, the old one kept
    result = pre_review(engine, ID, rotated)
    assert result.applicant.key_id == "new" and (result.active_lines, result.risk_flag) == (2, "反诈名单")
    holder = hashes(document(), rotated)
    assert holder[1] == old and DatabaseBilling(engine).holder_matches("ACCT-1", holder)
    lines = DatabaseDeprovisioning(engine)
    assert lines.active_lines("CUST-1", holder, ["13900000002"]) == {"13900000002": "mobile"}

    # A reclaimed number moves to the new key, number and line alike (termination compares them).
    lines.terminate(DeprovisionRequest(workflow_id="termination-1", account_id="ACCT-1", customer_ref="CUST-1",
                                       services=["13900000002"], port_out=False, quarantine_until=NOW + timedelta(90),
                                       erase_at=NOW + timedelta(90), at=NOW))
    reclaim = NumberReclaim(order_id="RCL-1", number="13900000002", identity=document(), customer_ref="CUST-1", at=NOW)
    assert lines.reclaim(reclaim, holder).reclaimed
    with Session(engine) as session:
        assert session.get(PoolNumber, "13900000002").holder_hash == holder[0]
    assert hash_key_usage(engine) == {
        "old": {"customerline": 2, "identityflag": 1, "billingaccount": 1},
        "new": {"customerline": 1, "poolnumber": 1}}

    # The old key retired too early: its people are strangers again.
    assert pre_review(engine, ID, hash_keys(f"new:{NEW}", production=True)).active_lines == 1

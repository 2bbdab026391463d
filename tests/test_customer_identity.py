"""The shop's signature on who is logged in (core/customer_identity.py): what verifies and what does not."""

from __future__ import annotations

import hashlib
import hmac
import stat

import pytest

from core.customer_identity import (
    MAX_LIFETIME_SECONDS,
    RefusedClaim,
    VerifiedCustomer,
    load_or_create_secret,
    sign,
    signed_claim,
    verify,
)

SECRET = "shop-and-gateway-share-this"
NOW = 1_780_000_000


def claim(**changes):
    return {**signed_claim(SECRET, "C10086", "gold", now=NOW), **changes}


def test_a_claim_the_shop_signed_verifies_as_that_customer_and_tier():
    assert verify(SECRET, claim(), now=NOW + 60) == VerifiedCustomer("C10086", "gold")


def test_the_signature_is_plain_hmac_sha256_so_any_language_can_compute_it():
    # what docs/verified-customers.md tells the shop's developers to compute
    expected = hmac.new(SECRET.encode(), f"C10086\ngold\n{NOW + 100}".encode(), hashlib.sha256).hexdigest()
    assert sign(SECRET, "C10086", "gold", NOW + 100) == expected
    assert verify(SECRET, {"customer_id": "C10086", "tier": "gold", "expires_at": str(NOW + 100),
                           "signature": expected.upper()}, now=NOW) == VerifiedCustomer("C10086", "gold")


@pytest.mark.parametrize("forged, reason", [
    ({"signature": sign("a guessed secret", "C10086", "gold", NOW + 86400)}, "bad_signature"),
    ({"tier": "diamond"}, "bad_signature"),               # the tier raised after signing
    ({"customer_id": "C10010"}, "bad_signature"),         # another customer's id under this signature
    ({"expires_at": NOW + 10 * 86400}, "bad_signature"),  # the expiry pushed out
    ({"signature": "0" * 64}, "bad_signature"),
    ({"signature": "not hex"}, "malformed"),
    ({"customer_id": 10086}, "malformed"),
    ({"customer_id": "C1\nvip"}, "malformed"),
    ({"customer_id": "C10086\n"}, "malformed"),
    ({"expires_at": True}, "malformed"),
    ({"expires_at": 10 ** 15}, "malformed"),
    ({"tier": ["gold"]}, "malformed"),
])
def test_a_forged_or_altered_claim_is_refused_with_its_reason(forged, reason):
    assert verify(SECRET, claim(**forged), now=NOW) == RefusedClaim(reason)


def test_an_expired_claim_is_refused_after_the_clock_skew_allowance():
    signed = signed_claim(SECRET, "C10086", "gold", lifetime_seconds=3600, now=NOW)
    assert isinstance(verify(SECRET, signed, now=NOW + 3600 + 200), VerifiedCustomer)
    assert verify(SECRET, signed, now=NOW + 3600 + 400) == RefusedClaim("expired")


def test_a_claim_valid_for_longer_than_a_week_is_refused():
    signed = signed_claim(SECRET, "C10086", "gold", lifetime_seconds=MAX_LIFETIME_SECONDS + 3600, now=NOW)
    assert verify(SECRET, signed, now=NOW) == RefusedClaim("lifetime_too_long")


def test_without_a_secret_nothing_verifies():
    assert verify("", claim(), now=NOW) == RefusedClaim("no_secret")
    assert verify(SECRET, "C10086", now=NOW) == RefusedClaim("malformed")


def test_the_secret_is_made_once_kept_private_and_shared_by_every_process(tmp_path):
    path = tmp_path / "var" / "identity-secret"
    made = load_or_create_secret("", path)
    assert len(made) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret("", path) == made
    assert load_or_create_secret("configured", path) == "configured"

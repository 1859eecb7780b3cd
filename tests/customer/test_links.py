"""Links are signed, expire, and work once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cardwatch.customer.links import LinkError, new_link, redeem, sign, verify
from cardwatch.store.memory import MemoryStore

from .helpers import KEY, T0


def _stored(store: MemoryStore, kind: str = "not_me", ttl: timedelta = timedelta(hours=1)):
    link = new_link(kind, "tok_card1", {"txn_id": "t1"}, T0, ttl)
    store.create_link(link)
    return link, sign(link, KEY)


def test_token_is_url_safe_and_carries_no_secret() -> None:
    link = new_link("it_was_me", "tok_card1", {"amount": 80.0}, T0, timedelta(hours=1))
    token = sign(link, KEY)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    claims = verify(token, KEY, T0)
    assert (claims.link_id, claims.kind, claims.card_id) == (link.link_id, "it_was_me", "tok_card1")
    assert claims.expires_at == T0 + timedelta(hours=1)


@pytest.mark.parametrize("mutate", ["flip_claims", "flip_mac", "garbage", "empty", "three_parts"])
def test_tampered_tokens_are_refused(mutate: str) -> None:
    token = sign(new_link("not_me", "tok_card1", {}, T0, timedelta(hours=1)), KEY)
    claims, mac = token.split(".")
    bad = {
        "flip_claims": ("A" if claims[0] != "A" else "B") + claims[1:] + "." + mac,
        "flip_mac": claims + "." + ("A" if mac[0] != "A" else "B") + mac[1:],
        "garbage": "not a token",
        "empty": "",
        "three_parts": token + ".x",
    }[mutate]
    with pytest.raises(LinkError) as err:
        verify(bad, KEY, T0)
    assert err.value.problem == "invalid"


def test_other_card_cannot_be_substituted() -> None:
    """Changing the card inside the claims breaks the signature."""
    import base64
    import json

    token = sign(new_link("not_me", "tok_card1", {}, T0, timedelta(hours=1)), KEY)
    claims, mac = token.split(".")
    raw = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    raw[2] = "tok_victim"
    forged = base64.urlsafe_b64encode(json.dumps(raw).encode()).rstrip(b"=").decode()
    with pytest.raises(LinkError):
        verify(f"{forged}.{mac}", KEY, T0)


def test_redeem_once() -> None:
    store = MemoryStore()
    link, token = _stored(store)
    used = redeem(store, token, KEY, T0 + timedelta(minutes=1), "not_me")
    assert used.link_id == link.link_id and used.scope == {"txn_id": "t1"}
    with pytest.raises(LinkError) as err:
        redeem(store, token, KEY, T0 + timedelta(minutes=2), "not_me")
    assert err.value.problem == "used"


def test_redeem_refuses_expired_wrong_kind_and_unknown() -> None:
    store = MemoryStore()
    _, token = _stored(store)
    with pytest.raises(LinkError) as err:
        redeem(store, token, KEY, T0 + timedelta(hours=1), "not_me")
    assert err.value.problem == "expired"
    with pytest.raises(LinkError) as err:
        redeem(store, token, KEY, T0, "it_was_me")
    assert err.value.problem == "invalid"
    unknown = sign(new_link("not_me", "tok_card1", {}, T0, timedelta(hours=1)), KEY)
    with pytest.raises(LinkError) as err:
        redeem(store, unknown, KEY, T0, "not_me")
    assert err.value.problem == "invalid"
    assert store.get_link("x") is None


def test_unknown_kind_refused() -> None:
    with pytest.raises(ValueError):
        new_link("open_sesame", "tok_card1", {}, T0, timedelta(hours=1))

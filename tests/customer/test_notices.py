"""Notices say what, where, when and why in plain words, and never show a PAN."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from cardwatch.customer.notices import decision_notice
from cardwatch.schema import Action, Reason

from .helpers import T0


def test_challenge_asks_to_confirm_in_local_time() -> None:
    n = decision_notice(
        Action.CHALLENGE,
        [Reason("velocity", "Many payments in a few minutes.")],
        "Shoe Palace",
        80.0,
        "USD",
        T0,
        {"it_was_me": "https://x/l/a", "not_me": "https://x/l/b"},
        tz=ZoneInfo("America/New_York"),
    )
    assert n.subject == "Please confirm a payment of USD 80.00 at Shoe Palace"
    assert "Sunday 1 March 2026 at 07:00 (EST)" in n.text
    assert "  - Many payments in a few minutes." in n.text
    assert "It was me: https://x/l/a" in n.text and "Not me: https://x/l/b" in n.text
    assert n.links == {"it_was_me": "https://x/l/a", "not_me": "https://x/l/b"}


def test_a_pan_that_slipped_in_is_masked() -> None:
    n = decision_notice(Action.DECLINE, [], "Card 4111111111111111 shop", 1.0, "EUR", T0, {})
    assert "4111111111111111" not in n.text and "411111******1111" in n.text
    assert "Our checks flagged it." in n.text


def test_own_settings_are_told_in_the_second_person_with_country_names() -> None:
    n = decision_notice(
        Action.DECLINE,
        [Reason("blocked_country", "The cardholder blocks payments in US.")],
        "Electro US",
        50.0,
        "USD",
        T0,
        {},
        country="US",
        channel="ecommerce",
    )
    assert "You blocked payments in the United States." in n.text
    assert "The cardholder" not in n.text and " US." not in n.text


def test_frozen_card_notice_does_not_blame_the_cardholders_settings() -> None:
    """A card frozen by "not me" was frozen because the cardholder reported a payment."""
    n = decision_notice(
        Action.DECLINE,
        [Reason("card_frozen", "The cardholder has frozen this card.")],
        "Shoe Palace",
        80.0,
        "EUR",
        T0,
        {},
    )
    assert "settings you chose" not in n.text
    assert "Your card is frozen." in n.text and "not yours" in n.text

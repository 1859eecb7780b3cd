"""What we tell the cardholder, in plain words (pure: text in, text out).

A message says what was stopped (merchant, amount with currency, local time), why (the decision's
own reasons, the same sentences an analyst sees) and what the cardholder can do about it in one
tap. It never holds a PAN: the card is named by the masked number the caller gives (first six,
last four) or as "your card".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from cardwatch.model.countries import country_name
from cardwatch.pan import mask_pans_in
from cardwatch.schema import Action, Reason

__all__ = [
    "Notice",
    "breach_notice",
    "decision_notice",
    "format_amount",
    "format_local",
]

_UTC = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class Notice:
    """A message ready for any channel: a subject, a plain-text body, the links it carries."""

    subject: str
    text: str
    links: dict[str, str] = field(default_factory=dict)


def format_amount(amount: float, currency: str) -> str:
    """An amount as people read it on a receipt.

    >>> format_amount(1234.5, "EUR"), format_amount(7, "usd")
    ('EUR 1,234.50', 'USD 7.00')
    """
    return f"{currency.upper()} {amount:,.2f}"


def format_local(at: datetime, tz: ZoneInfo | None = None) -> str:
    """A moment in the cardholder's time zone (UTC when unknown), named so it cannot mislead.

    >>> from datetime import UTC
    >>> format_local(datetime(2026, 3, 1, 12, 5, tzinfo=UTC), ZoneInfo("Europe/Paris"))
    'Sunday 1 March 2026 at 13:05 (CET)'
    """
    local = at.astimezone(tz or _UTC)
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} ({local.tzname()})"


_CHANNEL_WORDS = {
    "card_present": "in-store",
    "ecommerce": "online",
    "moto": "mail and phone order",
    "atm": "cash machine",
}


def _to_cardholder(reason: Reason, country: str | None, channel: str | None) -> str:
    """A reason in the cardholder's own terms: the engine writes the cardholder's settings for an
    analyst ("The cardholder blocks payments in US."); the cardholder reads "You blocked
    payments in the United States.".

    >>> _to_cardholder(Reason("blocked_country", "The cardholder blocks payments in US."),
    ...     "US", None)
    'You blocked payments in the United States.'
    """
    code = reason.code
    if code == "blocked_country" and country:
        return f"You blocked payments in {country_name(country)}."
    if code == "blocked_channel" and channel:
        return f"You blocked {_CHANNEL_WORDS.get(channel, channel)} payments."
    own = {
        "blocked_abroad": "You blocked payments abroad.",
        "blocked_card_not_present": "You blocked online, mail and phone payments.",
        "blocked_mcc": "You blocked payments to this kind of merchant.",
        "over_cardholder_limit": "It is above the limit you set for your card.",
        "card_frozen": "Your card is frozen.",
    }
    return own.get(code, reason.message)


def _reasons_text(
    reasons: Sequence[Reason], country: str | None = None, channel: str | None = None
) -> str:
    lines = [f"  - {_to_cardholder(r, country, channel)}" for r in reasons if r.message] or [
        "  - Our checks flagged it."
    ]
    return "\n".join(lines)


def decision_notice(
    action: Action,
    reasons: Sequence[Reason],
    merchant: str,
    amount: float,
    currency: str,
    at: datetime,
    links: Mapping[str, str],
    card_label: str | None = None,
    tz: ZoneInfo | None = None,
    retry_hours: int = 24,
    country: str | None = None,
    channel: str | None = None,
) -> Notice:
    """The message for a declined or challenged payment.

    ``links`` maps ``it_was_me`` / ``not_me`` to URLs; without them (a decline the cardholder's
    own settings caused) the message points to those settings instead. ``country`` and
    ``channel`` are the payment's, to name what the cardholder blocked in their own words.

    >>> from datetime import UTC
    >>> n = decision_notice(Action.DECLINE, [Reason("x", "Far above your usual amount.")],
    ...     "Corner Books", 42.5, "EUR", datetime(2026, 3, 1, 12, tzinfo=UTC), {})
    >>> n.subject
    'We stopped a payment of EUR 42.50 at Corner Books'
    """
    card = card_label or "your card"
    what = f"{merchant}, {format_amount(amount, currency)}, {format_local(at, tz)}"
    if action == Action.CHALLENGE:
        subject = f"Please confirm a payment of {format_amount(amount, currency)} at {merchant}"
        opening = f"We need you to confirm a payment with {card}:"
    else:
        subject = f"We stopped a payment of {format_amount(amount, currency)} at {merchant}"
        opening = f"We stopped a payment with {card}:"
    parts = [opening, "", f"  {what}", "", "Why:", _reasons_text(reasons, country, channel), ""]
    if "it_was_me" in links:
        parts += [
            f'If it was you, choose "It was me" and try again: we will let the same payment '
            f"at {merchant} through for the next {retry_hours} hours.",
            f"  It was me: {links['it_was_me']}",
            "",
        ]
    if "not_me" in links:
        parts += [
            'If it was not you, choose "Not me": we freeze the card at once and open a case. '
            "You do not need to call us.",
            f"  Not me: {links['not_me']}",
            "",
        ]
    if links:
        parts.append("Each link works once and expires within a day.")
    elif any(r.code == "card_frozen" for r in reasons):
        # The freeze may be the cardholder's own or the one "not me" set: the notice cannot
        # tell which, so it says both, truthfully, rather than "the settings you chose".
        parts.append(
            "Every payment with a frozen card is declined. If you froze it yourself, you can "
            "unfreeze it in your banking app. If you told us a payment was not yours, we froze "
            "it for you and will contact you about a replacement card."
        )
    else:
        parts.append(
            "This follows the settings you chose for your card; you can change them "
            "in your banking app."
        )
    return Notice(subject, mask_pans_in("\n".join(parts)), dict(links))


def breach_notice(
    merchant: str,
    window_start: datetime,
    window_end: datetime,
    what_we_did: str,
    check_url: str,
    card_label: str | None = None,
    tz: ZoneInfo | None = None,
) -> Notice:
    """The proactive message to a card that paid at a compromised merchant inside the window.

    >>> from datetime import UTC
    >>> n = breach_notice("Tills & Co", datetime(2013, 11, 27, tzinfo=UTC),
    ...     datetime(2013, 12, 15, tzinfo=UTC), "We are watching your card closely.", "https://x/l/t")
    >>> n.subject
    'Tills & Co, where you paid with your card, was compromised'
    >>> "27 November 2013" in n.text and "15 December 2013" in n.text
    True
    """
    card = card_label or "your card"
    start = window_start.astimezone(tz or _UTC)
    end = window_end.astimezone(tz or _UTC)
    text = "\n".join(
        [
            f"You paid with {card} at {merchant} between {start.day} {start:%B %Y} and "
            f"{end.day} {end:%B %Y}. Card details used there in that time were stolen.",
            "",
            f"What we did: {what_we_did}",
            "",
            "Most cards caught up in a breach are never misused. You do not need to call us.",
            "To see whether your card is affected and what we are doing about it:",
            f"  {check_url}",
            "",
            "We will never ask you for your card number, PIN or security code.",
        ]
    )
    subject = f"{merchant}, where you paid with {card}, was compromised"
    return Notice(subject, mask_pans_in(text), {"breach_check": check_url})

"""What a cardholder can do, in seconds and without calling: the functions behind the API.

"It was me" turns a signed link into a scoped approval for the retry; "not me" freezes the card
and opens a case; travel notices, trusted merchants, blocks and freezes are set directly by the
(authenticated) cardholder. Every action leaves a line in the audit trail, and the cardholder's
word about a payment becomes a label, because it is the fastest truth the model will get.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cardwatch.customer.control_cache import StoreControls
from cardwatch.customer.controls import (
    active_controls,
    allow_merchant_control,
    block_channel_control,
    block_country_control,
    freeze_control,
    retry_control,
    travel_control,
)
from cardwatch.customer.links import LinkError, redeem, verify
from cardwatch.errors import FieldError, NotFoundError, ValidationError
from cardwatch.pan import contains_pan, pan_digits, safe_text
from cardwatch.schema import CHANNELS
from cardwatch.store.base import Store
from cardwatch.store.records import AuditEntry, Case, CaseEvent, Control, Label

__all__ = ["MAX_CARD_ID", "ActionResult", "BreachCheck", "CardholderActions", "check_card_id"]

CARDHOLDER = "cardholder"
#: The note on the freeze "not me" sets: how the card's later answers know why it is frozen.
NOT_ME_NOTE = "cardholder said: not me"


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What happened, for the page the cardholder sees next."""

    kind: str
    card_id: str
    message: str
    control_id: str | None = None
    case_id: str | None = None


@dataclass(frozen=True, slots=True)
class BreachCheck:
    """The answer to "am I affected?" from a breach link."""

    affected: bool
    breach_id: str
    merchant_id: str
    window_start: datetime
    window_end: datetime
    message: str


#: The longest card token accepted: a token is short; a longer one is a mistake or an attack.
MAX_CARD_ID = 64
#: A travel notice covers a trip: at most a year, starting within a year.
LONGEST_TRIP = timedelta(days=365)
#: A dated block or trusted merchant ends within five years (leave the end out for no end).
LONGEST_SETTING = timedelta(days=5 * 365)


def check_card_id(card_id: str) -> str:
    """The card's token, refused when it cannot be one: empty, longer than ``MAX_CARD_ID``, or
    holding a card number (a PAN must never reach the controls table or the audit trail)."""
    if not card_id or len(card_id) > MAX_CARD_ID:
        shown = safe_text(card_id[:20]) + ("..." if len(card_id) > 20 else "")
        raise ValidationError(
            [FieldError("card_id", shown, f"the card's token: 1 to {MAX_CARD_ID} characters")]
        )
    if card_id.isdigit() or pan_digits(card_id) is not None or contains_pan(card_id):
        raise ValidationError(
            [FieldError("card_id", safe_text(card_id), "use the card's token, never a card number")]
        )
    return card_id


def _no_pan(column: str, value: str | None) -> None:
    """Refuse a setting's text holding a card number: it would be stored and audited in clear."""
    if value and (pan_digits(value) is not None or contains_pan(value)):
        raise ValidationError(
            [FieldError(column, safe_text(value), "holds a card number: never send one here")]
        )


def _period(
    start: datetime, end: datetime | None, now: datetime, longest: timedelta, too_long: str
) -> None:
    """Refuse a period that is over before it is set, ends before it starts, or lasts longer
    than ``longest`` (a block for 9999 years is a typo, or a wish for no end: say so)."""
    for column, at in (("valid_from", start), ("valid_to", end)):
        if at is not None and at.tzinfo is None:
            raise ValidationError(
                [FieldError(column, at.isoformat(), "give a time zone (e.g. Z for UTC)")]
            )
    if end is None:
        return
    if end <= now:
        raise ValidationError([FieldError("valid_to", end.isoformat(), "already over")])
    if end <= start:
        raise ValidationError([FieldError("valid_to", end.isoformat(), "must be after valid_from")])
    if end - start > longest or start - now > longest:
        raise ValidationError([FieldError("valid_to", end.isoformat(), too_long)])


_DATED = (
    f"too long: a dated block or trusted merchant ends within {LONGEST_SETTING.days} days "
    "(leave valid_to out for one with no end)"
)
_TRIP = f"too long: a travel notice starts and ends within {LONGEST_TRIP.days} days"


def _start(start: datetime | None, now: datetime) -> datetime:
    """When a setting takes effect: as asked, but never before it was set (a control cannot
    have been in force in the past)."""
    if start is None:
        return now
    if start.tzinfo is None:
        raise ValidationError(
            [FieldError("valid_from", start.isoformat(), "give a time zone (e.g. Z for UTC)")]
        )
    return max(start, now)


def _countries(values: Iterable[str]) -> list[str]:
    chosen = [v.strip().upper() for v in values]
    bad = [v for v in chosen if len(v) != 2 or not v.isalpha()]
    if bad or not chosen:
        raise ValidationError([FieldError("countries", bad or chosen, "ISO 3166 alpha-2 codes")])
    return chosen


def _channels(values: Iterable[str]) -> list[str]:
    chosen = list(values)
    bad = [v for v in chosen if v not in CHANNELS]
    if bad or not chosen:
        raise ValidationError([FieldError("channels", bad or chosen, f"one of {CHANNELS}")])
    return chosen


def _frozen_message(note: str) -> str:
    """What an "it was me" on a frozen card answers: the truth, and the way out."""
    if note == NOT_ME_NOTE:
        return (
            "Your card is frozen because you told us a payment on it was not yours, so no "
            "payment can go through, this one included. Nothing has been changed. If this "
            "payment was yours, contact your bank: they will check the card with you and can "
            "unfreeze it."
        )
    return (
        "Your card is frozen, so no payment can go through, this one included. Nothing has "
        "been changed. Unfreeze the card in your banking app (or contact your bank), then "
        "open this link again."
    )


class CardholderActions:
    """Cardholder actions over a store; ``key`` is the workspace's secret (link signing)."""

    def __init__(
        self,
        store: Store,
        key: bytes,
        controls: StoreControls | None = None,
        retry_margin: float = 0.10,
        retry_ttl: timedelta = timedelta(hours=24),
    ) -> None:
        self.store = store
        self.key = key
        self.controls = controls or StoreControls(store)
        self.retry_margin = retry_margin
        self.retry_ttl = retry_ttl

    # -- from links -----------------------------------------------------------------------------

    def it_was_me(self, token: str, now: datetime) -> ActionResult:
        """Approve the retry of a stopped payment: same card and merchant, up to its amount plus
        a margin, for ``retry_ttl``. Raises ``LinkError``.

        On a frozen card nothing is done and the link is not used up: the retry would be declined
        whatever we approve (a freeze beats everything), and after "not me" an approval, and a
        not-fraud label, would contradict what the cardholder told us. They are told why and what
        to do instead; once the card is unfrozen the link still works.
        """
        claims = verify(token, self.key, now)
        if claims.kind == "it_was_me":
            frozen = self._frozen_note(claims.card_id, now)
            if frozen is not None:
                return ActionResult("card_frozen", claims.card_id, _frozen_message(frozen))
        link = redeem(self.store, token, self.key, now, "it_was_me")
        scope = link.scope
        control = retry_control(
            link.card_id,
            scope["merchant_id"],
            float(scope["amount"]),
            scope["currency"],
            now,
            channel=scope.get("channel"),
            margin=self.retry_margin,
            ttl=self.retry_ttl,
            decision_id=scope.get("decision_id"),
        )
        self.controls.add(control)
        self.store.add_label(Label(scope["txn_id"], link.card_id, False, now, CARDHOLDER))
        self._audit(
            "it_was_me",
            link.card_id,
            now,
            decision_id=scope.get("decision_id"),
            control_id=control.control_id,
        )
        hours = int(self.retry_ttl.total_seconds() // 3600)
        message = (
            f"Thank you. Try the payment at {scope.get('merchant_name') or scope['merchant_id']} "
            f"again: it will go through for the next {hours} hours."
        )
        return ActionResult("it_was_me", link.card_id, message, control_id=control.control_id)

    def not_me(self, token: str, now: datetime) -> ActionResult:
        """Freeze the card, withdraw any approval given for it, record the fraud, open a case.
        Raises ``LinkError``."""
        link = redeem(self.store, token, self.key, now, "not_me")
        card_id, scope = link.card_id, link.scope
        for control in active_controls(self.store.controls_of(card_id), now):
            if control.kind in ("approve_retry", "allow_merchant"):
                self.controls.revoke(card_id, control.control_id, now)
        control = self._freeze(card_id, now, NOT_ME_NOTE)
        self.store.add_label(Label(scope["txn_id"], card_id, True, now, CARDHOLDER))
        case = self.store.open_case(Case("cardholder_not_me", now, card_id=card_id, priority=90))
        self.store.add_case_event(
            CaseEvent(case.case_id, now, CARDHOLDER, "reported_not_me", dict(scope))
        )
        self._audit(
            "not_me", card_id, now, decision_id=scope.get("decision_id"), case_id=case.case_id
        )
        message = (
            "Your card is frozen: nobody can pay with it now. We have opened a case and will "
            "contact you about a replacement card."
        )
        return ActionResult("not_me", card_id, message, control.control_id, case.case_id)

    def check_breach(self, token: str, now: datetime) -> BreachCheck:
        """Answer an "am I affected?" link. Not used up: the cardholder may look again."""
        claims = verify(token, self.key, now)
        link = self.store.get_link(claims.link_id)
        if claims.kind != "breach_check" or link is None or link.card_id != claims.card_id:
            raise LinkError("invalid", "this link is not valid")
        breach = self.store.get_breach(link.scope["breach_id"])
        if breach is None:
            raise NotFoundError("breach not found")
        exposed = any(
            e.breach_id == breach.breach_id for e in self.store.exposures_of_card(link.card_id)
        )
        frozen = any(
            c.kind == "freeze" for c in self.controls.controls_for(link.card_id, now).controls
        )
        if not exposed:
            message = "Your card was not among those exposed. There is nothing you need to do."
        elif frozen:
            # No reissue plan is known here for this card: promise none.
            message = (
                "Your card was exposed and is now frozen, so it cannot be misused. "
                "If you need a new card, contact your bank."
            )
        else:
            message = (
                "Your card was exposed. We watch it closely and stop anything unusual at "
                "once; we will tell you straight away if we do."
            )
        self._audit("breach_check", link.card_id, now, breach_id=breach.breach_id)
        return BreachCheck(
            exposed,
            breach.breach_id,
            breach.merchant_id,
            breach.window_start,
            breach.window_end,
            message,
        )

    # -- set by the cardholder (authenticated by the API) ---------------------------------------

    def travel_notice(
        self,
        card_id: str,
        countries: Iterable[str],
        start: datetime,
        end: datetime,
        now: datetime,
        who: str = CARDHOLDER,
    ) -> Control:
        _period(start, end, now, LONGEST_TRIP, _TRIP)
        control = travel_control(card_id, _countries(countries), max(start, now), end, now)
        return self._add(control, who, now)

    def allow_merchant(
        self,
        card_id: str,
        merchant_id: str,
        now: datetime,
        until: datetime | None = None,
        merchant_name: str | None = None,
        who: str = CARDHOLDER,
        start: datetime | None = None,
    ) -> Control:
        if not merchant_id:
            raise ValidationError([FieldError("merchant_id", merchant_id, "required")])
        _no_pan("merchant_id", merchant_id)
        _no_pan("merchant_name", merchant_name)
        start = _start(start, now)
        _period(start, until, now, LONGEST_SETTING, _DATED)
        control = allow_merchant_control(card_id, merchant_id, now, until, merchant_name, start)
        return self._add(control, who, now)

    def block_countries(
        self,
        card_id: str,
        countries: Iterable[str],
        now: datetime,
        until: datetime | None = None,
        who: str = CARDHOLDER,
        start: datetime | None = None,
    ) -> Control:
        start = _start(start, now)
        _period(start, until, now, LONGEST_SETTING, _DATED)
        return self._add(
            block_country_control(card_id, _countries(countries), now, until, start), who, now
        )

    def block_channels(
        self,
        card_id: str,
        channels: Iterable[str],
        now: datetime,
        until: datetime | None = None,
        who: str = CARDHOLDER,
        start: datetime | None = None,
    ) -> Control:
        start = _start(start, now)
        _period(start, until, now, LONGEST_SETTING, _DATED)
        control = block_channel_control(card_id, _channels(channels), now, until, start)
        return self._add(control, who, now)

    def freeze(self, card_id: str, now: datetime, who: str = CARDHOLDER, note: str = "") -> Control:
        """Freeze the card (every authorisation declined with ``62``) until unfrozen."""
        return self._freeze(card_id, now, note, who)

    def unfreeze(self, card_id: str, now: datetime, who: str = CARDHOLDER) -> int:
        """Lift every freeze on the card; how many were lifted."""
        lifted = 0
        for control in active_controls(self.store.controls_of(card_id), now):
            if control.kind == "freeze" and self.controls.revoke(card_id, control.control_id, now):
                lifted += 1
        self._audit("unfreeze", card_id, now, who=who, lifted=lifted)
        return lifted

    def revoke(self, card_id: str, control_id: str, now: datetime, who: str = CARDHOLDER) -> bool:
        """Withdraw one of the card's controls (a travel notice ended early, say)."""
        if not any(c.control_id == control_id for c in self.store.controls_of(card_id)):
            raise NotFoundError(f"no control {control_id} on this card")
        done = self.controls.revoke(card_id, control_id, now)
        self._audit("revoke_control", card_id, now, who=who, control_id=control_id)
        return done

    def list_controls(self, card_id: str, at: datetime) -> list[Control]:
        """The card's controls in force at ``at``."""
        return list(self.controls.controls_for(card_id, at).controls)

    # -- helpers --------------------------------------------------------------------------------

    def _frozen_note(self, card_id: str, at: datetime) -> str | None:
        """None when the card is not frozen at ``at``; else the note of its freeze (``NOT_ME_NOTE``
        when any freeze in force came from "not me")."""
        notes = [
            str(c.value.get("note", ""))
            for c in self.controls.controls_for(card_id, at).controls
            if c.kind == "freeze"
        ]
        if not notes:
            return None
        return NOT_ME_NOTE if NOT_ME_NOTE in notes else notes[0]

    def _freeze(self, card_id: str, now: datetime, note: str, who: str = CARDHOLDER) -> Control:
        return self._add(freeze_control(card_id, now, note), who, now)

    def _add(self, control: Control, who: str, now: datetime) -> Control:
        self.controls.add(control)
        self._audit(
            f"add_{control.kind}",
            control.card_id,
            now,
            who=who,
            control_id=control.control_id,
            value=control.value,
        )
        return control

    def _audit(
        self, action: str, card_id: str, at: datetime, who: str = CARDHOLDER, **details: object
    ) -> None:
        self.store.append_audit(AuditEntry(who, action, card_id, at, dict(details)))

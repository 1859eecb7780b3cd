"""Request and answer bodies of the HTTP API (the contract's JSON transaction and decision)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from cardwatch.pan import contains_pan, luhn_valid, pan_digits, safe_text

__all__ = [
    "AuthorizationRequest",
    "ControlBody",
    "DecisionAnswer",
    "LabelRequest",
    "NoPan",
    "ReasonBody",
    "UtcDateTime",
]

Channel = Literal["card_present", "ecommerce", "moto", "atm"]
EntryMode = Literal[
    "chip", "contactless", "magstripe", "fallback", "manual", "ecommerce", "credential_on_file"
]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]


def _aware(value: datetime) -> datetime:
    """A time without an offset is UTC (the contract's rule for every time it takes): made
    aware here, once, so that no route compares a naive time with the service's aware clock
    (a ``TypeError``, answered 500) or hands one to the profiles and the store."""
    return value.replace(tzinfo=UTC) if value.utcoffset() is None else value


#: Every time the API takes: ISO 8601, UTC when it has no offset.
UtcDateTime = Annotated[datetime, AfterValidator(_aware)]


def _no_pan(value: str) -> str:
    """Refuse a card number in a text stored as it is (ids, names), as the importer does
    (``validation._no_pans``): it would sit in the store, the logs and the console in clear.
    The problem shows the value masked; pydantic names the field."""
    if contains_pan(value):
        raise ValueError(
            f"{safe_text(value)} holds a card number, which is never stored in clear "
            "(a card number belongs in 'pan', where it is tokenised)"
        )
    return value


#: A free text that is stored: anything but a card number.
NoPan = AfterValidator(_no_pan)


class AuthorizationRequest(BaseModel):
    """One authorisation: ``pan`` (tokenised at once, never stored) or an opaque ``card_id``."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    txn_id: Annotated[str, NoPan] | None = Field(None, min_length=1, max_length=64)
    pan: str | None = Field(
        None,
        description="Card number, bare or grouped by spaces or dashes; tokenised on arrival, "
        "never stored.",
    )
    card_id: str | None = Field(None, min_length=1, max_length=64)
    amount: float = Field(gt=0, allow_inf_nan=False, description="Major units.")
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    merchant_id: Annotated[str, NoPan] = Field(min_length=1, max_length=64)
    timestamp: UtcDateTime | None = None
    customer_id: Annotated[str, NoPan] | None = Field(None, max_length=64)
    mcc: str | None = Field(None, pattern=r"^\d{4}$")
    merchant_name: Annotated[str, NoPan] | None = Field(None, max_length=100)
    merchant_country: Country | None = None
    merchant_lat: float | None = Field(None, ge=-90, le=90)
    merchant_lon: float | None = Field(None, ge=-180, le=180)
    terminal_id: Annotated[str, NoPan] | None = Field(None, max_length=64)
    channel: Channel | None = None
    entry_mode: EntryMode | None = None

    @field_validator("pan")
    @classmethod
    def _pan_is_a_card_number(cls, v: str | None) -> str | None:
        """The bare digits: a number grouped by spaces or dashes is accepted as the importer
        accepts it (``pan_digits``, the one rule), and is the same card, token and mask."""
        if v is None:
            return None
        digits = pan_digits(v)
        if digits is None or not luhn_valid(digits):
            raise ValueError(
                f"{safe_text(v)} is not a valid card number (12-19 digits, grouped by spaces "
                "or dashes or not, passing the Luhn check)"
            )
        return digits

    @field_validator("card_id")
    @classmethod
    def _card_id_is_not_a_pan(cls, v: str | None) -> str | None:
        if v is not None and pan_digits(v) is not None:  # grouped by spaces or dashes too
            raise ValueError("a card number goes in 'pan', where it is tokenised")
        return v

    @model_validator(mode="after")
    def _one_card(self) -> AuthorizationRequest:
        if (self.pan is None) == (self.card_id is None):
            # A model-level error has no field of its own: ``fields`` names the two for the
            # error answer (``app._problem``).
            raise PydanticCustomError(
                "one_card", "give exactly one of 'pan' or 'card_id'", {"fields": "pan, card_id"}
            )
        return self


class ReasonBody(BaseModel):
    code: str
    message: str


class DecisionAnswer(BaseModel):
    decision_id: str
    txn_id: str
    action: Literal["approve", "challenge", "decline", "review"]
    response_code: str
    score: float
    reasons: list[ReasonBody]


class LabelRequest(BaseModel):
    """A confirmed fraud (chargeback, cardholder report) or a confirmed genuine payment."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    txn_id: Annotated[str, NoPan] = Field(min_length=1, max_length=64)
    is_fraud: bool
    reported_at: UtcDateTime | None = None
    source: Annotated[str, NoPan] = Field("api", max_length=32)


class ControlBody(BaseModel):
    """A cardholder's own setting: travel notice, trusted merchant, or blocks."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    countries: list[Country] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)
    merchant_id: Annotated[str, NoPan] | None = Field(None, max_length=64)
    merchant_name: Annotated[str, NoPan] | None = Field(None, max_length=100)
    valid_from: UtcDateTime | None = None
    valid_to: UtcDateTime | None = None

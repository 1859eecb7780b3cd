"""The cardholder loop: controls the cardholder sets, notices we send, links they answer with.

``controls`` (pure) applies a card's controls to an authorisation; ``control_cache`` reads them
from the store for the engine; ``outbox`` writes a notice beside every decline or challenge and
delivers it through ``channels``; ``links`` signs the one-tap answers that ``actions`` carries out;
``breach_notices`` tells exposed cardholders before they call.
"""

"""The knobs of compromise detection, in one frozen dataclass.

Defaults are chosen so that background fraud (phishing, lost and stolen cards, card testing) gives
no alert while a breach is found from its first handful of fraud reports; ``bench/breach_eval.py``
measures both over simulated worlds, and the numbers in ``docs/breach.md`` come from there.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DetectConfig"]


@dataclass(frozen=True, slots=True)
class DetectConfig:
    """Parameters of :func:`cardwatch.breach.detect`.

    ``lookback_days``: how far before ``as_of`` visits count as possible exposures (breaches are
    found weeks, not years, after they start; a longer look-back dilutes the signal and costs more).
    ``min_fraud_cards``: a place needs at least this many defrauded cards in its window to alert,
    whatever its p-value — two coincidences are not a breach.
    ``alpha``: family-wise false-alert rate per run, Bonferroni-corrected over the places tested.
    ``min_window_days``: the shortest window considered (a till breach lasts days, and a window of
    minutes would make any coincidence look significant).
    ``activity_adjust``: weigh the chance of a defrauded card being anywhere by how many places
    defrauded cards visit compared with all cards (victims are often heavy spenders).
    ``chains``: also test chains (stores sharing ``merchant_name``) as one place each.
    ``max_candidates``: at most this many places per level get an exact window count (the
    rest are cut by their fraud-card count; keeps the second pass small at any scale).
    ``split_alpha``: share ``alpha`` evenly between chains and stores, each level corrected over
    its own places (a chain does not pay for every corner shop); else one Bonferroni over all.
    ``counterfeit_stratum``: also test on the cloned cards alone (card-present magstripe fraud:
    stolen track data), where phishing and lost cards do not dilute a till breach; each of the
    two tests then pays a factor of two.
    ``explain_away``: once a place alerts, test the others again without the defrauded cards it
    explains — its victims' bakery and bus line are not breaches. ``max_alerts`` bounds the rounds.
    ``recheck_alerts``: then test each alert again without the victims of all the others, and
    drop the echoes that no longer alert, choosing again without them
    (:meth:`cardwatch.breach.detect._Body.echoes`): explaining away alone goes one way, from
    the first alert to the later ones.
    ``explain_known``: set aside the victims of breaches alerted already (the daily job's
    breaches but the dismissed ones, the earlier runs of ``survey_daily``) before testing the
    other places: a chain whose regulars were a breach's victims alerted on them, days after the
    breach itself, on a day the breach's own evidence fell short (docs/breach.md). The known
    places are still tested on all the evidence, to be widened.
    ``concentration``: also test whether the defrauded cards' visits to a place crowd into one
    window, given how often each paid there (:mod:`cardwatch.breach.concentration`): the power
    at popular places, where a few victims cannot beat the place's popularity; ``alpha`` is then
    split evenly between this test and the population tests. Off by default: calibrated now (a
    fixed dyadic family of windows, exact tails, Bonferroni; p < 5 % in 1.25 % of null draws)
    but weak where breaches happen — a breach's victims are the chain's regulars, whose visits
    carry little timing.
    ``recent_days``: also test, at every place, the windows ending at ``as_of`` that open this
    many days before it (fixed in advance, so they pay a plain Bonferroni factor rather than a
    scan correction): a breach found early is recent, and its victims paid there lately, where
    only a part of the place's regulars did. Each place is tested over its localised window,
    the whole look-back and these windows, and pays for every one of them. Off by default:
    with ``(7, 14, 28)`` the localised window still carried every alert compared, and the
    extra factor of 2.5 delayed one by 5 days (docs/breach.md).
    ``open_windows``: report a window open to ``as_of`` (``ongoing``) while the evidence does not
    show the leak's end. On by default: a breach found while it may still be going on must
    expose every card that paid there since it began, not only those up to its last victim.

    ``subset_scan``: also test, at every chain of at least ``subset_min_stores`` stores, the most
    anomalous *subset* of its stores (:mod:`cardwatch.breach.subset`): a breach of a few of a
    chain's stores leaves one or two victims per store, too few for any store and diluted in the
    chain as a whole. Tested over a family of windows fixed in advance — ``subset_days`` long,
    sliding by half their length over the last ``subset_reach_days`` before ``as_of`` — as a third
    level beside stores and chains: ``alpha`` is then split three ways, and the subset level is
    Bonferroni-corrected over its chains, windows and strata. The scan's own search over subsets
    is paid by its Monte-Carlo p-value (at most ``subset_draws`` null draws, so its p-value is never
    below ``1 / (subset_draws + 1)``). Only real chains are scanned: same-named independent
    shops have a handful of stores, and a scan of them would only add to the family.
    ``subset_min_cards``: the fewest defrauded cards a subset alert needs (the point tests need
    ``min_fraud_cards``): a few victims of a local fraud, shopping at the chain's stores in their
    town, are not independent across those stores as the scan's null assumes. 5: the two true
    subset alerts measured had 7 and 12 cards, a skimmer's town 3 (docs/breach.md). On by
    default: it finds a quarter of a chain's stores breached at 1 % defrauded, which nothing else
    does (recall over the goal-size worlds at <= 2 %: 75 % -> 88 %, no new false alert in the
    breach-free worlds); in a decoy world it named a chain from three cards of a skimmer's town
    before the breach's first fraud, which ``subset_min_cards`` now keeps out.
    ``name_group_leave_one_out``: a name group of fewer than ``subset_min_stores`` stores
    (same-named independent shops, not a chain sharing tills) alerts as one place only if its
    evidence still alerts without its strongest store — the defrauded cards that paid at the
    store with the most of them in the window set aside, the rest tested again with the same
    corrections (:func:`cardwatch.breach.places.leave_one_out`). A leak at one shop is that
    shop's alert; what the name adds must come from the others. Both recurring false chain
    alerts of the goal-size worlds ("Tabac Presse Fournier": six cards of background fraud at
    four shops in three cities; "Café Robert": victims of breaches not, or not yet, explained
    away) rested on two cards at their strongest shop and fell to nothing without it, and no
    true alert was lost or delayed in the goal-size worlds re-run (docs/breach.md). Off by
    default all the same: store count is the only sign of "independent shops", and a small
    real chain sharing tills (the tests' five-store chain) is then reported store by store
    until its evidence reaches beyond one store.

    ``counterfeit_use``: also look for the place that cards *seen paying as clones* had in common
    (:func:`cardwatch.breach.queries.counterfeit_use_sql`: a card-present stripe payment in a
    country where the card never paid by chip), reported or not — the issuer sees a cloned
    stripe the moment it is used, days before its cardholder reports it. They join the reported
    cards (each from its first fraud or clone use) in one body of evidence; an alert resting
    mostly on clones nobody reported says ``basis: counterfeit_use``.
    ``clone_alibi_kmh``: such a card counts only when its chip was read, within hours of its
    stripe, farther away than anyone travels at this speed: the card was in two places at once.
    A traveller whose chip a foreign terminal cannot read carries the card abroad; a clone
    leaves it at home, in its owner's pocket, still paying by chip. ``None`` counts every stripe
    read where the chip never was, travellers included. Needs the merchants' coordinates (a
    history without them has no clones, and detection runs on the reports alone). With the
    alibi travellers cannot raise it (an airport shop every one of them paid at is the test),
    and it meets the 2013-like scenario's 2-day goal; since runs know the breaches alerted
    before them (``explain_known``) the two echoes it made alert in the 0.5 % worlds are gone.
    Still off by default: with a 10-day delay before the first fraud it made another echo
    alert two days before the breach's own first alert, which memory cannot prevent
    (docs/breach.md).

    ``hold_ambiguous``: do not alert a place while every one of its defrauded cards also paid at
    another place (not its own chain or store) whose evidence is within ``ambiguity_nats`` of its
    own (a factor of e**4, about 55, in p-value): the two are held until the next victims tell
    them apart (:func:`cardwatch.breach.detect._ambiguous`). Most false alerts of the 30,000-card
    sweep were such echoes — Burger Express or MarchéPlus, whose customers are Grand Bazar's,
    alerted on the same victims the day before Grand Bazar (docs/breach.md).
    ``ambiguity_outside_cards``: how many of the place's defrauded cards may have paid elsewhere
    than at its rival and still leave the two held. 0 by default. Tried at 2 with clones on the
    two worlds where clones made an echo alert: one echo was held (Burger Express; the breach
    found the same day), the other still alerted a day later (Primeur) and the breach was found
    two days later (docs/breach.md). Not enough to put clones on by default.

    >>> DetectConfig().min_fraud_cards
    3
    """

    lookback_days: float = 120.0
    min_fraud_cards: int = 3
    alpha: float = 0.01
    min_window_days: float = 1.0
    activity_adjust: bool = True
    chains: bool = True
    max_candidates: int = 2000
    blame_iterations: int = 50
    split_alpha: bool = True
    counterfeit_stratum: bool = True
    explain_away: bool = True
    max_alerts: int = 20
    recheck_alerts: bool = True
    explain_known: bool = True
    concentration: bool = False
    open_windows: bool = True
    recent_days: tuple[float, ...] = ()
    subset_scan: bool = True
    subset_min_stores: int = 16
    subset_min_cards: int = 5
    subset_days: tuple[float, ...] = (14.0, 28.0)
    subset_reach_days: float = 56.0
    subset_draws: int = 200_000
    name_group_leave_one_out: bool = False
    counterfeit_use: bool = False
    clone_alibi_kmh: float | None = 1000.0
    hold_ambiguous: bool = True
    ambiguity_nats: float = 4.0
    ambiguity_outside_cards: int = 0

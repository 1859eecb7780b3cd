"""Several LightGBM boosters averaged into one booster.

Why one booster: the mean of K boosters' log-odds is a sum over all their trees with every leaf
value divided by K — an ordinary LightGBM model. Stored as one ``model.txt``, it is read by any
LightGBM (whose ``predict`` then gives the ensemble's score), compiled and walked like any other
forest on the live path, and explained by the same TreeSHAP and path attributions (both are
sums over trees, so each member's share comes out scaled by 1/K, as it should).

The merge works on LightGBM's text format (``model_to_string``): the members' trees are
renumbered one after the other with ``leaf_value`` and ``internal_value`` divided by K,
``tree_sizes`` is recomputed, the feature ranges (``feature_infos``) are the union of the
members' and the split counts (``feature_importances``) their sum; the rest (objective,
parameters) is the first member's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import lightgbm as lgb

__all__ = ["average_boosters"]

_TREE = re.compile(r"^Tree=\d+\n", re.MULTILINE)
_SCALED = ("leaf_value=", "internal_value=")


def average_boosters(boosters: Sequence[lgb.Booster]) -> lgb.Booster:
    """One booster whose raw score is the mean of the ``boosters``' raw scores.

    The members must be single-output models over the same features (as :class:`FraudModel`
    trains them); linear trees are refused (their leaves hold more than a value).
    """
    if not boosters:
        raise ValueError("no boosters to average")
    if len(boosters) == 1:
        return boosters[0]
    texts = [b.model_to_string() for b in boosters]
    heads, trees, tails = zip(*(_split(t) for t in texts), strict=True)
    names = [b.feature_name() for b in boosters]
    if any(n != names[0] for n in names):
        raise ValueError("the boosters to average must have the same features")
    for head in heads:
        if _field(head, "num_tree_per_iteration") != "1":
            raise ValueError("only single-output boosters can be averaged")
    k = len(boosters)
    blocks = []
    for member in trees:
        for body in member:
            blocks.append(f"Tree={len(blocks)}\n" + _scale_tree(body, k))
    head = _set_field(heads[0], "tree_sizes", " ".join(str(len(b)) for b in blocks))
    infos = _union_infos([_field(h, "feature_infos") for h in heads])
    head = _set_field(head, "feature_infos", infos)
    text = head + "".join(blocks) + _sum_importances(tails)
    return lgb.Booster(model_str=text)


def _split(text: str) -> tuple[str, list[str], str]:
    """A model text as its header (up to the first tree), its trees' bodies (without the
    ``Tree=N`` line) and the rest (from ``end of trees``)."""
    end = text.index("end of trees")
    starts = [m.start() for m in _TREE.finditer(text, 0, end)]
    if not starts:
        raise ValueError("a booster without trees cannot be averaged")
    bodies = []
    for a, b in zip(starts, [*starts[1:], end], strict=True):
        block = text[a:b]
        bodies.append(block[block.index("\n") + 1 :])
    return text[: starts[0]], bodies, text[end:]


def _scale_tree(body: str, k: int) -> str:
    lines = body.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("is_linear=") and line != "is_linear=0":
            raise ValueError("linear trees cannot be averaged")
        for key in _SCALED:
            if line.startswith(key):
                values = (float(v) / k for v in line[len(key) :].split())
                lines[i] = key + " ".join(repr(v) for v in values)
    return "\n".join(lines)


def _field(head: str, key: str) -> str:
    match = re.search(rf"^{key}=(.*)$", head, re.MULTILINE)
    if match is None:
        raise ValueError(f"the model text has no {key}")
    return match.group(1)


def _set_field(head: str, key: str, value: str) -> str:
    _field(head, key)
    return re.sub(rf"^{key}=.*$", lambda _: f"{key}={value}", head, count=1, flags=re.MULTILINE)


def _union_infos(infos: list[str]) -> str:
    """Per feature, the widest ``[min:max]`` of the members (``none``: never split on)."""
    out = []
    for ranges in zip(*(i.split(" ") for i in infos), strict=True):
        numeric = [r for r in ranges if r.startswith("[") and ":" in r]
        if not numeric:
            out.append(ranges[0])  # "none", or a categorical feature's values
            continue
        pairs = [r[1:-1].split(":") for r in numeric]
        low = min(pairs, key=lambda p: float(p[0]))[0]
        high = max(pairs, key=lambda p: float(p[1]))[1]
        out.append(f"[{low}:{high}]")
    return " ".join(out)


def _sum_importances(tails: Sequence[str]) -> str:
    """The first member's tail with the split counts of ``feature_importances`` summed."""
    counts: dict[str, int] = {}
    for tail in tails:
        block = tail.split("feature_importances:\n", 1)
        if len(block) < 2:
            continue
        for line in block[1].split("\n"):
            if not line.strip():
                break
            name, _, count = line.rpartition("=")
            counts[name] = counts.get(name, 0) + int(count)
    first = tails[0]
    if "feature_importances:\n" not in first:
        return first
    before, after = first.split("feature_importances:\n", 1)
    rest = after[after.index("\n\n") :] if "\n\n" in after else ""
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    return before + "feature_importances:\n" + "".join(f"{n}={c}\n" for n, c in ranked) + rest

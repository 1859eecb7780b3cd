"""A trained LightGBM booster flattened into one NumPy table and walked by a numba kernel.

Why: LightGBM's own ``predict`` spends tens of microseconds per call on one row (argument checks,
a C call, a thread pool) — more than the rest of a decision. The trees themselves are a few
thousand comparisons: flattened into one contiguous table and walked by one compiled function
they take a few microseconds. The walk reproduces LightGBM's numerical decision exactly
(``missing_type`` None / Zero / NaN, ``default_left``, infinite thresholds), so the score is
LightGBM's raw score to rounding.

Layout: every node of every tree in one structured array ``nodes`` of 16-byte records, trees one
after the other, each in pre-order, so that a node's left child is the next record and only the
right child's row is stored. ``value`` is the threshold of a split or the output of a leaf;
``feature`` is ``-1`` for a leaf; ``flags`` = missing type (0 None, 1 Zero, 2 NaN) + 4 when
missing values go left. ``roots[t]`` is the row of tree ``t``'s root. Sixteen bytes a node and
the left child next door keep the walk in cache (it is 1.5× faster than a table of two arrays);
the TreeSHAP extras — ``covers`` (training rows through each node), ``expected`` (each tree's
mean output), ``max_depth`` — and ``means`` (the cover-weighted mean of the leaves under each
node, for path contributions) live in separate arrays the scorer never touches.

Scoring walks a second, branch-free form of the same trees (``thr``, ``feat``, ``child``,
``leaf``): a node's two children sit side by side in ``child``, so the step is
``child[2 * node + (x > threshold)]`` — a load, not an unpredictable branch — and a leaf is its own
child (its threshold is NaN, so the comparison is false), so a tree can be walked a fixed number
of steps, its depth. Many walks then run in lockstep and the processor overlaps them: the rows of
a block tree by tree for a batch, every tree at once for a single row. That is about six times
faster than following one path after another, and exact: LightGBM's predictor reads a value
within ``kZeroThreshold`` of zero as 0.0, and then, for a value that is not NaN,
``x > threshold`` is its "go right" whatever the node's missing type, except for 0.0 at a
``missing_type`` Zero split. So, before a walk, near-zeros become 0.0, a NaN in a feature whose
splits are all ``missing_type`` None becomes 0.0 too (what LightGBM does), and a row holding a NaN
elsewhere, or a zero at a Zero split's feature, is scored by the exact per-node walk instead
(``nan_kind`` says which features need which care). Either way the leaf values are added in tree
order from 0.0, so every path gives the same bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

__all__ = ["NODE_DTYPE", "CompiledForest", "compile_booster"]

#: One node of the flat forest (16 bytes).
NODE_DTYPE = np.dtype(
    [("value", "<f8"), ("feature", "<i2"), ("flags", "u1"), ("pad", "u1"), ("right", "<i4")]
)
_MISSING_TYPES = {"None": 0, "Zero": 1, "NaN": 2}
_DEFAULT_LEFT = 4
#: LightGBM's ``kZeroThreshold`` (the float ``1e-35f``): its predictor reads a value this close to
#: zero as 0.0, and a ``missing_type`` Zero split sends 0.0 the default way.
_ZERO_THRESHOLD = float(np.float32(1e-35))


def _threshold(value: float | str) -> float:
    """A split threshold as the model holds it.

    ``dump_model`` writes an infinite threshold (a split that sends every finite value left) as
    ±1e300 (LightGBM's ``AvoidInf``); the model itself compares with infinity, so an infinite
    feature value goes left there. Mapping back keeps infinite inputs scored like LightGBM.
    """
    t = float(value)
    if t >= 1e300:
        return math.inf
    if t <= -1e300:
        return -math.inf
    return t


@njit(cache=True, nogil=True, inline="always")
def _goes_left(fval, threshold, flags):  # type: ignore[no-untyped-def]
    """LightGBM's ``NumericalDecision``: where a value goes at one split."""
    missing = flags & 3
    if (math.isnan(fval) and missing != 2) or -_ZERO_THRESHOLD <= fval <= _ZERO_THRESHOLD:
        fval = 0.0
    if (missing == 1 and fval == 0.0) or (missing == 2 and math.isnan(fval)):
        return (flags & _DEFAULT_LEFT) != 0
    return fval <= threshold


@njit(cache=True, nogil=True, inline="always")
def _child(x, nodes, node):  # type: ignore[no-untyped-def]
    """The row of the child a value sends ``x`` to from split ``node``."""
    rec = nodes[node]
    if _goes_left(float(x[rec.feature]), rec.value, rec.flags):
        return node + 1
    return rec.right


@njit(cache=True, nogil=True)
def _raw_row(x, roots, nodes):  # type: ignore[no-untyped-def]
    """Sum of the leaf values reached by one row: LightGBM's raw score."""
    total = 0.0
    for t in range(roots.shape[0]):
        node = roots[t]
        while nodes[node].feature >= 0:
            node = _child(x, nodes, node)
        total += nodes[node].value
    return total


@njit(cache=True, nogil=True)
def _path_row(x, roots, nodes, means, n_features):  # type: ignore[no-untyped-def]
    """Saabas' path attribution: each split credits its feature with the change of the mean
    output it causes. Exact in sum like SHAP, not consistent like SHAP, but it costs one walk
    per tree (microseconds) instead of TreeSHAP's visit of every leaf (a millisecond or more)."""
    phi = np.zeros(n_features + 1, dtype=np.float64)
    for t in range(roots.shape[0]):
        node = roots[t]
        phi[n_features] += means[node]
        while nodes[node].feature >= 0:
            child = _child(x, nodes, node)
            phi[nodes[node].feature] += means[child] - means[node]
            node = child
    return phi


@njit(cache=True, nogil=True)
def _proba_row(x, roots, nodes, sigmoid):  # type: ignore[no-untyped-def]
    return 1.0 / (1.0 + math.exp(-sigmoid * _raw_row(x, roots, nodes)))


#: Rows walked together by the batch kernel: their features (feature-major) and one tree stay in
#: the first-level cache while the walks overlap.
_BLOCK = 64
_PARTS = 8  # partial sums of the path credits (a power of two)
_NAN_TO_ZERO = 0  # nan_kind: every split on the feature is missing_type None
_NAN_EXACT = 1  # a NaN needs the per-node walk
_ZERO_EXACT = 2  # a NaN or a value within ±1e-35 of zero needs the per-node walk


@njit(cache=True, nogil=True, inline="always")
def _prepared(v, kind):  # type: ignore[no-untyped-def]
    """Value ``v`` of a feature of ``nan_kind`` ``kind`` as the lockstep walk compares it, and
    whether the row must take the per-node walk instead."""
    if -_ZERO_THRESHOLD <= v <= _ZERO_THRESHOLD:
        return 0.0, kind == _ZERO_EXACT
    if math.isnan(v):
        return 0.0, kind != _NAN_TO_ZERO
    return v, False


@njit(cache=True, nogil=True, boundscheck=False)
def _raw_block(X, roots, nodes, depth, thr, feat, child, leaf, nan_kind):  # type: ignore[no-untyped-def]
    """Raw scores of the rows of ``X``, ``_BLOCK`` rows at a time walked in lockstep through
    each tree (see the module docstring); rows that need the exact walk get it."""
    n, nf = X.shape
    out = np.empty(n, dtype=np.float64)
    B = np.uint32(_BLOCK)
    xb = np.zeros(nf * _BLOCK, dtype=np.float64)
    idx = np.empty(_BLOCK, dtype=np.uint32)
    acc = np.empty(_BLOCK, dtype=np.float64)
    exact = np.zeros(_BLOCK, dtype=np.bool_)
    two = np.uint32(2)
    for start in range(0, n, _BLOCK):
        m = min(_BLOCK, n - start)
        for b in range(m):
            exact[b] = False
            for j in range(nf):
                v, slow = _prepared(float(X[start + b, j]), nan_kind[j])
                exact[b] |= slow
                xb[j * _BLOCK + b] = v
        for b in range(_BLOCK):
            acc[b] = 0.0
        for t in range(roots.shape[0]):
            r = np.uint32(roots[t])
            for b in range(_BLOCK):
                idx[b] = r
            for _ in range(depth[t]):
                for b in range(_BLOCK):
                    k = idx[b]
                    v = xb[feat[k] * B + np.uint32(b)]
                    idx[b] = child[two * k + np.uint32(v > thr[k])]
            for b in range(_BLOCK):
                acc[b] += leaf[idx[b]]
        for b in range(m):
            out[start + b] = _raw_row(X[start + b], roots, nodes) if exact[b] else acc[b]
    return out


@njit(cache=True, nogil=True, boundscheck=False)
def _raw_lanes(x, roots, nodes, order, active, thr, feat, child, leaf, nan_kind):  # type: ignore[no-untyped-def]
    """Raw score of one row, every tree walked at once: ``order`` lists the trees deepest first
    and ``active[s]`` how many of them are deeper than ``s``, so step ``s`` advances exactly the
    walks not yet at a leaf. The leaves are then added in tree order."""
    nf = x.shape[0]
    xs = np.empty(nf, dtype=np.float64)
    for j in range(nf):
        v, slow = _prepared(float(x[j]), nan_kind[j])
        if slow:
            return _raw_row(x, roots, nodes)
        xs[j] = v
    n_trees = roots.shape[0]
    idx = np.empty(n_trees, dtype=np.uint32)
    for i in range(n_trees):
        idx[i] = np.uint32(roots[order[i]])
    two = np.uint32(2)
    for s in range(active.shape[0]):
        for i in range(active[s]):
            k = idx[i]
            idx[i] = child[two * k + np.uint32(xs[feat[k]] > thr[k])]
    leaves = np.empty(n_trees, dtype=np.float64)
    for i in range(n_trees):
        leaves[order[i]] = leaf[idx[i]]
    total = 0.0
    for t in range(n_trees):
        total += leaves[t]
    return total


@njit(cache=True, nogil=True, boundscheck=False)
def _path_lanes(x, roots, nodes, means, n_features, order, active, thr, feat, child, nan_kind):  # type: ignore[no-untyped-def]
    """:func:`_path_row` with every tree walked at once, as :func:`_raw_lanes` does: the same
    credits, added in another (fixed) order."""
    xs = np.empty(x.shape[0], dtype=np.float64)
    for j in range(x.shape[0]):
        v, slow = _prepared(float(x[j]), nan_kind[j])
        if slow:
            return _path_row(x, roots, nodes, means, n_features)
        xs[j] = v
    n_trees = roots.shape[0]
    idx = np.empty(n_trees, dtype=np.uint32)
    for i in range(n_trees):
        idx[i] = np.uint32(roots[order[i]])
    # eight partial sums, so that credits to one feature do not wait for each other; a walk
    # already at its leaf adds means[k] - means[k] = 0.0
    part = np.zeros((_PARTS, n_features + 1), dtype=np.float64)
    two = np.uint32(2)
    for s in range(active.shape[0]):
        for i in range(active[s]):
            k = idx[i]
            c = child[two * k + np.uint32(xs[feat[k]] > thr[k])]
            part[i & (_PARTS - 1), feat[k]] += means[c] - means[k]
            idx[i] = c
    phi = np.zeros(n_features + 1, dtype=np.float64)
    for g in range(_PARTS):
        for j in range(n_features):
            phi[j] += part[g, j]
    for t in range(n_trees):
        phi[n_features] += means[roots[t]]
    return phi


@njit(cache=True, nogil=True)
def _proba_lanes(x, roots, nodes, order, active, thr, feat, child, leaf, nan_kind, sigmoid):  # type: ignore[no-untyped-def]
    raw = _raw_lanes(x, roots, nodes, order, active, thr, feat, child, leaf, nan_kind)
    return 1.0 / (1.0 + math.exp(-sigmoid * raw))


@njit(cache=True, nogil=True)
def _proba_block(X, roots, nodes, depth, thr, feat, child, leaf, nan_kind, sigmoid):  # type: ignore[no-untyped-def]
    """Probabilities by the scalar sigmoid of :func:`_proba_row`, row by row, so that a batch
    equals its rows scored alone, bit for bit (NumPy's vectorised ``exp`` may round the last bit
    differently): replay equals live."""
    raw = _raw_block(X, roots, nodes, depth, thr, feat, child, leaf, nan_kind)
    for i in range(raw.shape[0]):
        raw[i] = 1.0 / (1.0 + math.exp(-sigmoid * raw[i]))
    return raw


@dataclass(frozen=True, slots=True)
class CompiledForest:
    """The flat form of a binary LightGBM model; see the module docstring for the layout."""

    roots: np.ndarray
    nodes: np.ndarray
    n_features: int
    sigmoid: float
    covers: np.ndarray
    expected: np.ndarray
    max_depth: int
    means: np.ndarray
    thr: np.ndarray
    feat: np.ndarray
    child: np.ndarray
    leaf: np.ndarray
    nan_kind: np.ndarray
    depth: np.ndarray
    order: np.ndarray
    active: np.ndarray

    @property
    def n_leaves(self) -> int:
        return int((self.nodes["feature"] < 0).sum())

    def raw_one(self, x: np.ndarray) -> float:
        """Raw score (log-odds) of one row; ``x`` must hold ``n_features`` values."""
        return float(
            _raw_lanes(
                x,
                self.roots,
                self.nodes,
                self.order,
                self.active,
                self.thr,
                self.feat,
                self.child,
                self.leaf,
                self.nan_kind,
            )
        )

    def proba_one(self, x: np.ndarray) -> float:
        """Probability of fraud for one row, LightGBM's sigmoid of the raw score."""
        return float(
            _proba_lanes(
                x,
                self.roots,
                self.nodes,
                self.order,
                self.active,
                self.thr,
                self.feat,
                self.child,
                self.leaf,
                self.nan_kind,
                self.sigmoid,
            )
        )

    def path_contributions(self, x: np.ndarray) -> np.ndarray:
        """Contributions of one row by its decision paths, then the base value (see
        :func:`_path_row`); ``n_features + 1`` entries summing to the raw score."""
        return _path_lanes(
            x,
            self.roots,
            self.nodes,
            self.means,
            self.n_features,
            self.order,
            self.active,
            self.thr,
            self.feat,
            self.child,
            self.nan_kind,
        )

    def raw_batch(self, X: np.ndarray) -> np.ndarray:
        """Raw scores of the rows of a 2-D array, each equal to :meth:`raw_one`."""
        return _raw_block(X, *self._block_args())

    def proba_batch(self, X: np.ndarray) -> np.ndarray:
        """Probabilities of fraud of the rows of a 2-D array, each equal to :meth:`proba_one`."""
        return _proba_block(X, *self._block_args(), self.sigmoid)

    def _block_args(self) -> tuple[np.ndarray, ...]:
        return (
            self.roots,
            self.nodes,
            self.depth,
            self.thr,
            self.feat,
            self.child,
            self.leaf,
            self.nan_kind,
        )


def compile_booster(dump: dict[str, Any]) -> CompiledForest:
    """Flatten ``Booster.dump_model()`` of a binary model into a :class:`CompiledForest`.

    Only numerical splits are supported (cardwatch's features are all numeric); a categorical
    split or a multiclass model is refused rather than scored wrongly.

    >>> dump = {"num_tree_per_iteration": 1, "max_feature_idx": 0,
    ...         "objective": "binary sigmoid:1", "tree_info": [{"tree_structure": {
    ...     "split_feature": 0, "threshold": 1.5, "decision_type": "<=", "default_left": True,
    ...     "missing_type": "NaN", "left_child": {"leaf_value": -1.0},
    ...     "right_child": {"leaf_value": 2.0}}}]}
    >>> forest = compile_booster(dump)
    >>> forest.raw_one(np.array([1.0])), forest.raw_one(np.array([3.0]))
    (-1.0, 2.0)
    >>> forest.raw_one(np.array([np.nan]))  # missing values go left here
    -1.0
    """
    if dump.get("num_tree_per_iteration", 1) != 1:
        raise ValueError("only binary (one tree per iteration) models can be compiled")
    n_features = int(dump["max_feature_idx"]) + 1
    if n_features > np.iinfo(np.int16).max:
        raise ValueError(f"{n_features} features: the compiled scorer takes at most 32,767")
    sigmoid = 1.0
    for part in str(dump.get("objective", "binary sigmoid:1")).split():
        if part.startswith("sigmoid:"):
            sigmoid = float(part.split(":", 1)[1])
    rows: list[tuple[float, int, int, int, int]] = []  # value, feature, flags, pad, right
    covers: list[float] = []
    means: list[float] = []
    roots: list[int] = []
    depths: list[int] = []
    max_depth = 0

    def add(node: dict[str, Any], depth: int) -> int:
        nonlocal max_depth
        max_depth = max(max_depth, depth)
        row = len(rows)
        depths.append(depth)
        if "leaf_value" in node:
            rows.append((float(node["leaf_value"]), -1, 0, 0, -1))
            covers.append(float(node.get("leaf_count", 0)))
            means.append(float(node["leaf_value"]))
            return row
        if node.get("decision_type", "<=") != "<=":
            raise ValueError("categorical splits are not supported by the compiled scorer")
        rows.append((0.0, 0, 0, 0, 0))
        covers.append(float(node.get("internal_count", 0)))
        means.append(0.0)
        left = add(node["left_child"], depth + 1)  # == row + 1: pre-order
        right = add(node["right_child"], depth + 1)
        flags = _MISSING_TYPES[str(node.get("missing_type", "None"))]
        if node.get("default_left", True):
            flags |= _DEFAULT_LEFT
        rows[row] = (_threshold(node["threshold"]), int(node["split_feature"]), flags, 0, right)
        cover = covers[left] + covers[right]
        if cover > 0:
            means[row] = (covers[left] * means[left] + covers[right] * means[right]) / cover
        else:
            means[row] = 0.5 * (means[left] + means[right])
        return row

    for tree in dump["tree_info"]:
        roots.append(add(tree["tree_structure"], 0))
    root_rows = np.asarray(roots, dtype=np.int32)
    mean_values = np.asarray(means, dtype=np.float64)
    nodes = np.array(rows, dtype=NODE_DTYPE)
    return CompiledForest(
        roots=root_rows,
        nodes=nodes,
        n_features=n_features,
        sigmoid=sigmoid,
        covers=np.asarray(covers, dtype=np.float64),
        # LightGBM's Tree::ExpectedValue, up to summation order
        expected=mean_values[root_rows] if len(roots) else np.zeros(0),
        max_depth=max_depth,
        means=mean_values,
        **_lockstep_form(nodes, root_rows, np.asarray(depths, dtype=np.int64), n_features),
    )


def _lockstep_form(
    nodes: np.ndarray, roots: np.ndarray, depths: np.ndarray, n_features: int
) -> dict[str, np.ndarray]:
    """The branch-free arrays of the module docstring, from the pre-order node table."""
    n = nodes.shape[0]
    rows = np.arange(n, dtype=np.int64)
    is_leaf = nodes["feature"] < 0
    child = np.empty(2 * n, dtype=np.uint32)
    child[0::2] = np.where(is_leaf, rows, rows + 1)
    child[1::2] = np.where(is_leaf, rows, nodes["right"])
    split_features = nodes["feature"][~is_leaf].astype(np.int64)
    missing = (nodes["flags"][~is_leaf] & 3).astype(np.int64)
    kind_of_missing = np.array(
        [_NAN_TO_ZERO, _ZERO_EXACT, _NAN_EXACT], dtype=np.int8
    )  # None, Zero, NaN
    nan_kind = np.zeros(n_features, dtype=np.int8)
    np.maximum.at(nan_kind, split_features, kind_of_missing[missing])
    ends = np.append(roots[1:], n).astype(np.int64)
    depth = np.array(
        [int(depths[a:b].max()) - int(depths[a]) for a, b in zip(roots, ends, strict=True)],
        dtype=np.int32,
    )
    order = np.argsort(-depth, kind="stable").astype(np.int32)
    active = np.array([(depth > s).sum() for s in range(int(depth.max(initial=0)))], np.int32)
    return {
        "thr": np.where(is_leaf, np.nan, nodes["value"]),
        "feat": np.where(is_leaf, 0, nodes["feature"]).astype(np.uint32),
        "child": child,
        "leaf": np.where(is_leaf, nodes["value"], 0.0),
        "nan_kind": nan_kind,
        "depth": depth,
        "order": order,
        "active": active,
    }

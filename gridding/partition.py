"""Split weighted points into contiguous, compact groups whose weights lie in a band.

The engine behind micro-grids (30–100 households) and fused general grids
(300–500 households). Pure numpy/scipy/networkx; planar coordinates in metres.

1. **Adjacency.** Buildings are neighbours when they share a Delaunay edge
   (`adjacency_graph`). Edges longer than a distance are cut, and so are
   edges that cross a road or boundary line. In automatic mode the distance
   is derived from the data (a multiple of the median nearest-neighbour
   distance) and the edges of a minimum spanning tree are kept, so the cut
   removes long hull-spanning edges without stranding a hamlet; an explicit
   distance and the barrier lines are strict.
2. **Exact tree partition.** On a spanning tree of each connected component,
   a dynamic programme over bitsets of achievable weights decides whether the
   tree can be cut into connected parts each weighing within [low, high]
   (`_tree_partition`); when it can, a back-tracking pass draws one such cut.
   Any such cut is a valid answer: every part is connected in the tree, so
   in the graph too, and within the band. This is what makes the result
   provably in band.
3. **Compactness.** Several spanning trees are tried (the minimum spanning
   tree over edge lengths, then randomly perturbed ones, all from the
   seeded `random.Random`); with at most `FEW_GROUPS` groups the tries
   alternate between aiming at k*, k* − 1 and k* + 1 groups. A cut (or a
   polished cut) already seen is not searched again. When the points' cells
   are given (`CellShapes`, from `point_faces`), each cut is improved by
   moves that raise the sum of the groups' Polsby-Popper scores, computed
   exactly from cell areas, perimeters and shared borders without any
   polygon union; the best try then goes through *recombination*: two
   neighbouring groups are merged and re-split along the most compact
   in-band edge of a few random spanning trees of their union (both parts
   are subtrees, so connected), pair after pair, then polished once more.
   Without cells, moves and neighbour swaps lower the total moment of
   inertia (Σ squared distance to the group centroid, the k-means
   objective) and the lowest inertia × group count wins. Every move, swap
   and re-split keeps both groups in band and connected.

Small components (≤ `EXACT_LIMIT` points) are solved exactly instead: every
block that could be a group (connected, in band) is listed as a bitmask,
every partition into such blocks is tried, the most compact wins, and none
is a proof of infeasibility (`no_partition`).

Infeasibility is *proved* when a component weighs less than the minimum or
no whole number of groups fits its total (k·low ≤ total ≤ k·high has no
solution), or by the exhaustive search of a small component. Otherwise a
component that none of the tried trees can cut is reported as `not_found`:
the search is a heuristic there, not a proof.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import shapely
from scipy.spatial import Delaunay, QhullError, cKDTree
from shapely.geometry.base import BaseGeometry

from gridding.tessellate import union_faces, voronoi_faces

FloatArray = npt.NDArray[np.float64]

# Automatic cut distance = this × the median nearest-neighbour distance.
AUTO_EDGE_FACTOR = 4.0
DEFAULT_TRIES = 6
MAX_IMPROVE_PASSES = 30
# Components of at most this many points are solved exactly (2⁸ candidate blocks, partitions built from the valid ones).
EXACT_LIMIT = 8
# Aim the number of groups at total / (low + this × (high − low)).
TARGET_POSITION = 0.5
# Up to this many groups, the tries alternate between aiming at k*, k* − 1 and k* + 1 groups.
FEW_GROUPS = 20
# Recombination of the winning partition: at most this many sweeps over the pairs of neighbouring groups
# (it stops after a sweep that changes nothing; a pair unchanged since it was last tried is skipped), and at
# most this many random spanning trees per pair (fewer once a tree offers no split not seen already).
RECOMBINE_ROUNDS = 6
RECOMBINE_TREES = 6
# Shared borders shorter than this are numerical noise where cells meet at a point.
SHARED_EPSILON_M = 1e-9


@dataclass(frozen=True)
class Band:
    """Inclusive bounds on the weight (households) of every group."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if self.low < 0 or self.high < 1 or self.low > self.high:
            raise PartitionError("bad_band", {"low": self.low, "high": self.high})

    def contains(self, weight: int) -> bool:
        return self.low <= weight <= self.high

    def group_count_range(self, total: int) -> range:
        """The numbers of groups k with k·low ≤ total ≤ k·high (empty when none fits)."""
        smallest = max(1, math.ceil(total / self.high))
        largest = total // self.low if self.low > 0 else smallest
        return range(smallest, largest + 1)


class PartitionError(ValueError):
    """The points cannot be grouped as asked; `kind` and `params` say why (see `gridding.messages`)."""

    def __init__(self, kind: str, params: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.params = params or {}
        super().__init__(f"{kind}: {self.params}")


# ---------------------------------------------------------------- adjacency


def spread_duplicates(xy: FloatArray, *, radius: float = 3.0) -> FloatArray:
    """Move points that share a position onto a small circle around it.

    The units of a split building, or two buildings digitised on one spot,
    would otherwise be one Delaunay vertex and one Voronoi cell. On the
    circle each gets its own sector of the cell and its own edges. The radius
    never exceeds a quarter of the distance to the nearest other position.
    """
    xy = np.array(xy, dtype=np.float64, copy=True)
    if len(xy) < 2:
        return xy
    unique, inverse, counts = np.unique(xy, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    if counts.max() == 1:
        return xy
    if len(unique) > 1:
        distances, _ = cKDTree(unique).query(unique, k=2)
        room = distances[:, 1] / 4.0
    else:
        room = np.full(1, radius)
    for position in np.flatnonzero(counts > 1):
        members = np.flatnonzero(inverse == position)
        r = min(radius, float(room[position]))
        angles = 2 * math.pi * np.arange(len(members)) / len(members)
        xy[members, 0] = unique[position, 0] + r * np.cos(angles)
        xy[members, 1] = unique[position, 1] + r * np.sin(angles)
    return xy


def _distinct_rows(xy: FloatArray) -> FloatArray:
    """The distinct rows of an (n, 2) array (lexicographic order; a sort, not `np.unique(axis=0)`, which is slow)."""
    if len(xy) < 2:
        return xy
    order = np.lexsort((xy[:, 1], xy[:, 0]))
    ordered = xy[order]
    fresh = np.ones(len(ordered), dtype=bool)
    fresh[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    return ordered[fresh]


# Below this many points, nearest neighbours come from the full distance matrix (faster than a k-d tree).
DENSE_NEIGHBOUR_LIMIT = 200


def median_neighbour_distance(xy: FloatArray) -> float:
    """Median distance from each distinct position to its nearest other one (0 for fewer than two)."""
    unique = _distinct_rows(np.asarray(xy, dtype=np.float64))
    if len(unique) < 2:
        return 0.0
    if len(unique) <= DENSE_NEIGHBOUR_LIMIT:
        difference = unique[:, None, :] - unique[None, :, :]
        squared = np.einsum("ijk,ijk->ij", difference, difference)
        np.fill_diagonal(squared, np.inf)
        return float(np.median(np.sqrt(squared.min(axis=1))))
    distances, _ = cKDTree(unique).query(unique, k=2)
    return float(np.median(distances[:, 1]))


def _delaunay_edges(xy: FloatArray) -> npt.NDArray[np.int64]:
    """Delaunay edges as an (m, 2) array of index pairs (a < b), sorted."""
    n = len(xy)
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    try:
        if n < 3:
            raise QhullError("too few points")
        triangles = Delaunay(xy).simplices
    except (QhullError, ValueError):
        # Collinear (or two) points: their Delaunay graph is the path along the line.
        centred = xy - xy.mean(axis=0)
        axis = np.linalg.svd(centred, full_matrices=False)[2][0] if n > 1 else np.array([1.0, 0.0])
        order = np.argsort(centred @ axis, kind="stable")
        pairs = np.column_stack([order[:-1], order[1:]]).astype(np.int64)
        return _sorted_pairs(pairs, n)
    pairs = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [0, 2]]]).astype(np.int64)
    # Points Qhull dropped as coplanar (near-duplicates) join their nearest vertex.
    used = np.unique(triangles)
    if len(used) < n:
        tree = cKDTree(xy[used])
        dropped = np.setdiff1d(np.arange(n), used)
        _, nearest = tree.query(xy[dropped])
        pairs = np.concatenate([pairs, np.column_stack([dropped, used[np.asarray(nearest)]]).astype(np.int64)])
    return _sorted_pairs(pairs, n)


def _sorted_pairs(pairs: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.int64]:
    low = np.minimum(pairs[:, 0], pairs[:, 1])
    high = np.maximum(pairs[:, 0], pairs[:, 1])
    codes = np.unique(low * n + high)
    return np.column_stack([codes // n, codes % n])


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def root(self, node: int) -> int:
        parent = self.parent
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def join(self, a: int, b: int) -> bool:
        """Merge the sets of a and b; False when they were already one."""
        ra, rb = self.root(a), self.root(b)
        if ra == rb:
            return False
        self.parent[ra] = rb
        return True


@dataclass
class Adjacency:
    graph: nx.Graph
    max_edge_m: float
    automatic: bool
    cut_by_distance: int = 0
    cut_by_barrier: int = 0


def adjacency_graph(
    xy: FloatArray, *, max_edge_m: float | None = None, barriers: Sequence[BaseGeometry] = ()
) -> Adjacency:
    """Delaunay neighbours of the points, minus edges that are too long or cross a barrier line.

    `max_edge_m=None` chooses `AUTO_EDGE_FACTOR` × the median
    nearest-neighbour distance and keeps the minimum-spanning-tree edges of
    the barrier-respecting graph (the cut then never disconnects what the
    barriers leave connected). Nodes are 0..n-1 with attribute-free edges
    carrying `length`.
    """
    xy = np.asarray(xy, dtype=np.float64)
    n = len(xy)
    automatic = max_edge_m is None
    limit = AUTO_EDGE_FACTOR * median_neighbour_distance(xy) if max_edge_m is None else float(max_edge_m)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    pairs = _delaunay_edges(xy)
    lengths = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T) if len(pairs) else np.empty(0)

    passable = np.ones(len(pairs), dtype=bool)
    if barriers and len(pairs):
        lines = [geometry for geometry in barriers if not geometry.is_empty]
        if lines:
            tree = shapely.STRtree(lines)
            segments = shapely.linestrings(np.stack([xy[pairs[:, 0]], xy[pairs[:, 1]]], axis=1))
            hits, _ = tree.query(segments, predicate="intersects")
            passable[np.unique(hits)] = False
    short = passable & ((lengths <= limit) if limit > 0 else True)
    keep = short.copy()
    if automatic:
        # Keep a long edge iff a minimum spanning tree of the passable graph holds it (Kruskal, ties by index):
        # the short edges are all kept anyway, so only the long ones need the union-find.
        components = _UnionFind(n)
        for a, b in pairs[short].tolist():
            components.join(a, b)
        long_edges = np.flatnonzero(passable & ~short)
        for index in long_edges[np.argsort(lengths[long_edges], kind="stable")].tolist():
            if components.join(int(pairs[index, 0]), int(pairs[index, 1])):
                keep[index] = True
    graph.add_edges_from(
        (a, b, {"length": length}) for (a, b), length in zip(pairs[keep].tolist(), lengths[keep].tolist(), strict=True)
    )
    blocked = int((~passable).sum())
    cut_by_distance = int((passable & ~keep).sum())
    return Adjacency(
        graph=graph,
        max_edge_m=limit,
        automatic=automatic,
        cut_by_distance=cut_by_distance,
        cut_by_barrier=blocked,
    )


# ------------------------------------------------------------ tree partition


def _bits(value: int) -> list[int]:
    """Positions of the set bits of `value`, ascending."""
    positions = []
    while value:
        lowest = value & -value
        positions.append(lowest.bit_length() - 1)
        value ^= lowest
    return positions


def _tree_partition(
    tree: dict[int, list[int]],
    weights: Sequence[int],
    band: Band,
    rng: random.Random,
    *,
    ideal: float,
    noise: float = 0.0,
) -> list[list[int]] | None:
    """Cut a tree into connected parts with weights in the band, or None when no cut exists.

    open[v] is the bitset of weights the part holding v can have, counted
    inside v's subtree only, with every part wholly below v already closed
    in band. A child either closes its part (possible iff its open set
    meets the band) or merges it into v's (sum-set of the two open sets).
    Weights above `band.high` are dropped, so sets hold at most high+1 bits.

    Back-tracking fixes each part's weight when the part is opened: the
    achievable weight nearest `ideal` (± `noise` × the band width, random),
    which steers the number of parts towards total / ideal.
    """

    def pick(options: int) -> int:
        spread = noise * (band.high - band.low)
        return min(_bits(options), key=lambda w: abs(w - ideal) + spread * rng.random())

    nodes = list(tree)
    root = min(nodes)
    mask = (1 << (band.high + 1)) - 1
    band_mask = mask ^ ((1 << band.low) - 1)
    parent: dict[int, int | None] = {root: None}
    order = [root]
    children: dict[int, list[int]] = {}
    for node in order:  # BFS; `order` grows while we walk it
        kids = sorted(neighbour for neighbour in tree[node] if neighbour != parent[node])
        children[node] = kids
        for kid in kids:
            parent[kid] = node
            order.append(kid)

    open_set: dict[int, int] = {}
    prefixes: dict[int, list[int]] = {}
    for node in reversed(order):
        current = 1 << weights[node]
        steps = [current]
        for kid in children[node]:
            kid_open = open_set[kid]
            # Sum-set of the two sets: shift one by each member of the other (the one with fewer members).
            many, few = (current, kid_open) if kid_open.bit_count() <= current.bit_count() else (kid_open, current)
            merged = 0
            for shift in _bits(few):
                merged |= many << shift
            merged &= mask
            current = (current if kid_open & band_mask else 0) | merged
            if current == 0:
                return None
            steps.append(current)
        open_set[node] = current
        prefixes[node] = steps

    final = open_set[root] & band_mask
    if not final:
        return None
    groups: list[list[int]] = []
    stack = [(root, pick(final))]
    while stack:
        top, target = stack.pop()
        group = [top]
        frontier = [(top, target)]
        while frontier:
            node, remaining = frontier.pop()
            kids = children[node]
            for position in range(len(kids) - 1, -1, -1):
                kid = kids[position]
                before = prefixes[node][position]
                kid_open = open_set[kid]
                can_close = bool(kid_open & band_mask) and bool((before >> remaining) & 1)
                fitting = kid_open & ((1 << (remaining + 1)) - 1)
                merges = [s for s in _bits(fitting) if (before >> (remaining - s)) & 1]
                if can_close and (not merges or rng.random() < 0.5):
                    stack.append((kid, pick(kid_open & band_mask)))
                    continue
                share = rng.choice(merges)
                remaining -= share
                group.append(kid)
                frontier.append((kid, share))
            if remaining != weights[node]:  # pragma: no cover (the programme guarantees it)
                raise AssertionError("tree partition back-tracking lost its way")
        groups.append(group)
    return groups


def _random_spanning_tree(
    nodes: Sequence[int], edges: Sequence[tuple[int, int, float]], rng: random.Random, *, jitter: float
) -> dict[int, list[int]]:
    """Adjacency lists of a minimum spanning tree over edge lengths × (1 + jitter × uniform noise) (Kruskal)."""
    random_number = rng.random
    weighted = sorted([(length * (1.0 + jitter * random_number()), a, b) for a, b, length in edges])
    parent = {node: node for node in nodes}
    adjacency: dict[int, list[int]] = {node: [] for node in nodes}
    needed = len(nodes) - 1
    for _, a, b in weighted:
        ra = a
        while parent[ra] != ra:  # find, with path halving
            parent[ra] = parent[parent[ra]]
            ra = parent[ra]
        rb = b
        while parent[rb] != rb:
            parent[rb] = parent[parent[rb]]
            rb = parent[rb]
        if ra == rb:
            continue
        parent[ra] = rb
        adjacency[a].append(b)
        adjacency[b].append(a)
        needed -= 1
        if not needed:
            break
    return adjacency


def _depth_first_tree(adjacency: dict[int, list[int]], rng: random.Random) -> dict[int, list[int]]:
    """A random depth-first spanning tree: long chains, which a band cut handles like a sequence."""
    nodes = sorted(adjacency)
    start = rng.choice(nodes)
    tree: dict[int, list[int]] = {node: [] for node in nodes}
    seen = {start}
    stack = [(start, iter(rng.sample(adjacency[start], len(adjacency[start]))))]
    while stack:
        node, neighbours = stack[-1]
        for neighbour in neighbours:
            if neighbour not in seen:
                seen.add(neighbour)
                tree[node].append(neighbour)
                tree[neighbour].append(node)
                stack.append((neighbour, iter(rng.sample(adjacency[neighbour], len(adjacency[neighbour])))))
                break
        else:
            stack.pop()
    return tree


# ---------------------------------------------------------------- compactness


@dataclass
class _Groups:
    """Running sums per group, so the inertia change of a move is O(1) (plain floats: tiny numpy arrays are slow)."""

    xy: list[tuple[float, float]]
    weights: Sequence[int]
    of: dict[int, int]
    members: list[set[int]]
    weight: list[int] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    sum_x: list[float] = field(default_factory=list)
    sum_y: list[float] = field(default_factory=list)
    sum_sq: list[float] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        xy: FloatArray,
        weights: Sequence[int],
        groups: list[list[int]],
        points: list[tuple[float, float]] | None = None,
    ) -> _Groups:
        """`points`: `xy` as a list of float pairs, when the caller has it already (saves a conversion per try)."""
        if points is None:
            points = [(float(x), float(y)) for x, y in xy]
        state = cls(xy=points, weights=weights, of={}, members=[set(group) for group in groups])
        for index, group in enumerate(groups):
            for node in group:
                state.of[node] = index
            state.weight.append(sum(weights[node] for node in group))
            state.count.append(len(group))
            state.sum_x.append(sum(points[node][0] for node in group))
            state.sum_y.append(sum(points[node][1] for node in group))
            state.sum_sq.append(sum(points[node][0] ** 2 + points[node][1] ** 2 for node in group))
        return state

    def inertia(self, index: int, *, extra: int = 0, sign: int = 0) -> float:
        """Σ squared distance to the centroid of group `index`, with point `extra` added (+1) or removed (-1)."""
        count = self.count[index] + sign
        if count <= 0:
            return 0.0
        x, y = self.xy[extra]
        sum_x = self.sum_x[index] + sign * x
        sum_y = self.sum_y[index] + sign * y
        sum_sq = self.sum_sq[index] + sign * (x * x + y * y)
        return sum_sq - (sum_x * sum_x + sum_y * sum_y) / count

    def inertia_swapped(self, index: int, out: int, into: int) -> float:
        """Inertia of group `index` with point `out` replaced by point `into`."""
        ox, oy = self.xy[out]
        ix, iy = self.xy[into]
        count = self.count[index]
        sum_x = self.sum_x[index] - ox + ix
        sum_y = self.sum_y[index] - oy + iy
        sum_sq = self.sum_sq[index] - (ox * ox + oy * oy) + (ix * ix + iy * iy)
        return sum_sq - (sum_x * sum_x + sum_y * sum_y) / count

    def move(self, node: int, to: int) -> None:
        source = self.of[node]
        x, y = self.xy[node]
        for index, sign in ((source, -1), (to, 1)):
            self.weight[index] += sign * self.weights[node]
            self.count[index] += sign
            self.sum_x[index] += sign * x
            self.sum_y[index] += sign * y
            self.sum_sq[index] += sign * (x * x + y * y)
        self.members[source].discard(node)
        self.members[to].add(node)
        self.of[node] = to

    def total_inertia(self) -> float:
        return sum(self.inertia(index) for index in range(len(self.members)))


def _canonical(groups: Sequence[Sequence[int] | set[int]]) -> tuple[tuple[int, ...], ...]:
    """A partition as a hashable value independent of the order of groups and members."""
    return tuple(sorted(tuple(sorted(group)) for group in groups if group))


def _connected(adjacency: dict[int, list[int]], members: set[int]) -> bool:
    if not members:
        return False
    start = next(iter(members))
    seen = {start}
    stack = [start]
    while stack:
        for neighbour in adjacency[stack.pop()]:
            if neighbour in members and neighbour not in seen:
                seen.add(neighbour)
                stack.append(neighbour)
    return len(seen) == len(members)


def _improve(adjacency: dict[int, list[int]], state: _Groups, band: Band) -> None:
    """Greedy boundary moves that lower the total inertia and keep band and contiguity.

    Adding point p to a group of c points with centroid m raises its
    inertia by c/(c+1)·|p − m|², removing it lowers it by c/(c−1)·|p − m|²:
    O(1) per candidate from the running sums.
    """
    of, weights, xy = state.of, state.weights, state.xy
    weight, count, sum_x, sum_y = state.weight, state.count, state.sum_x, state.sum_y
    nodes = sorted(of)
    low, high = band.low, band.high
    for _ in range(MAX_IMPROVE_PASSES):
        moved = False
        for node in nodes:
            source = of[node]
            size = count[source]
            if size <= 1:
                continue
            node_weight = weights[node]
            if weight[source] - node_weight < low:
                continue
            x, y = xy[node]
            dx, dy = x - sum_x[source] / size, y - sum_y[source] / size
            saving = size / (size - 1) * (dx * dx + dy * dy)
            best, best_gain = -1, 1e-9
            for target in sorted({of[n] for n in adjacency[node]}):
                if target == source or weight[target] + node_weight > high:
                    continue
                other = count[target]
                dx, dy = x - sum_x[target] / other, y - sum_y[target] / other
                gain = saving - other / (other + 1) * (dx * dx + dy * dy)
                if gain > best_gain:
                    best, best_gain = target, gain
            if best < 0:
                continue
            members = state.members[source]
            members.discard(node)
            connected = _connected(adjacency, members)
            members.add(node)
            if not connected:
                continue
            state.move(node, best)
            moved = True
        moved = _swap_pass(adjacency, state, band) or moved
        if not moved:
            return


def _swap_pass(adjacency: dict[int, list[int]], state: _Groups, band: Band) -> bool:
    """Exchange two neighbouring points of different groups when both stay in band and connected and inertia falls.

    Single moves stall when a band is tight (the group a point would leave
    drops below the minimum); a swap keeps both sizes nearly unchanged.
    """
    swapped = False
    of, weights, weight = state.of, state.weights, state.weight
    for u in sorted(adjacency):
        a = of.get(u)
        if a is None:
            continue
        for v in adjacency[u]:
            b = of.get(v)
            if b is None or b == a or v < u:
                continue
            difference = weights[v] - weights[u]
            if not (band.contains(weight[a] + difference) and band.contains(weight[b] - difference)):
                continue
            before = state.inertia(a) + state.inertia(b)
            after = state.inertia_swapped(a, u, v) + state.inertia_swapped(b, v, u)
            if after >= before - 1e-9:
                continue
            if not _connected_swapped(adjacency, state.members[a], u, v):
                continue
            if not _connected_swapped(adjacency, state.members[b], v, u):
                continue
            state.move(u, b)
            state.move(v, a)
            swapped = True
            a = b  # u now belongs to b; its remaining edges are looked at from there
    return swapped


def _connected_swapped(adjacency: dict[int, list[int]], members: set[int], out: int, into: int) -> bool:
    """Whether `members` − {out} + {into} is connected (without building the new set)."""
    members.discard(out)
    members.add(into)
    try:
        return _connected(adjacency, members)
    finally:
        members.discard(into)
        members.add(out)


@dataclass
class CellShapes:
    """Area and perimeter of each point's cell, and the border length shared by neighbouring cells.

    Cells that tile an area (Voronoi faces) give the area and perimeter of
    any union of them without a geometric union: A = Σ a, P = Σ p − 2 Σ
    shared borders inside the union. That makes a move's Polsby-Popper
    change O(degree).
    """

    area: list[float]
    perimeter: list[float]
    shared: list[dict[int, float]]

    def border_lists(self) -> list[list[tuple[int, float]]]:
        """`shared` as lists of (neighbour, border length): faster to walk in the inner loops."""
        return [list(borders.items()) for borders in self.shared]

    @classmethod
    def from_cells(cls, cells: Sequence[BaseGeometry]) -> CellShapes:
        area = [float(cell.area) for cell in cells]
        perimeter = [float(cell.length) for cell in cells]
        shared: list[dict[int, float]] = [{} for _ in cells]
        present = [index for index, cell in enumerate(cells) if not cell.is_empty]
        if len(present) > 1:
            geometries = [cells[index] for index in present]
            tree = shapely.STRtree(geometries)
            left, right = tree.query(geometries, predicate="intersects")
            keep = left < right
            boundaries = shapely.boundary(np.array(geometries, dtype=object))
            lengths = shapely.length(shapely.intersection(boundaries[left[keep]], boundaries[right[keep]]))
            for i, j, length in zip(left[keep], right[keep], lengths, strict=True):
                if length > 0:
                    a, b = present[int(i)], present[int(j)]
                    shared[a][b] = shared[b][a] = float(length)
        return cls(area=area, perimeter=perimeter, shared=shared)

    @classmethod
    def from_faces(cls, faces_of: Sequence[Sequence[BaseGeometry]]) -> CellShapes:
        """The same figures from each point's faces of one `voronoi_faces` noding, without any union.

        Faces of one noding share edges vertex for vertex, so a border shows
        up as the same segment in both faces: segments are matched exactly
        (sorted endpoint coordinates), their lengths summed per pair of
        owners. A segment shared by two faces of one point lies inside its
        cell and leaves its perimeter.
        """
        count = len(faces_of)
        geometries = [face for faces in faces_of for face in faces]
        owner_of_face = np.array([node for node, faces in enumerate(faces_of) for _ in faces], dtype=np.int64)
        shared: list[dict[int, float]] = [{} for _ in range(count)]
        if not geometries:
            return cls(area=[0.0] * count, perimeter=[0.0] * count, shared=shared)
        faces = np.array(geometries, dtype=object)
        area = np.bincount(owner_of_face, weights=shapely.area(faces), minlength=count)
        rings, face_of_ring = shapely.get_rings(faces, return_index=True)
        coordinates, ring_of_point = shapely.get_coordinates(rings, return_index=True)
        inside = ring_of_point[1:] == ring_of_point[:-1]
        start, end = coordinates[:-1][inside], coordinates[1:][inside]
        owner = owner_of_face[face_of_ring[ring_of_point[:-1][inside]]]
        length = np.hypot(*(end - start).T)
        perimeter = np.bincount(owner, weights=length, minlength=count)
        flip = (start[:, 0] > end[:, 0]) | ((start[:, 0] == end[:, 0]) & (start[:, 1] > end[:, 1]))
        low = np.where(flip[:, None], end, start)
        high = np.where(flip[:, None], start, end)
        order = np.lexsort((high[:, 1], high[:, 0], low[:, 1], low[:, 0]))
        key = np.column_stack([low, high])[order]
        twin = np.flatnonzero(np.all(key[1:] == key[:-1], axis=1))
        first, second = owner[order[twin]], owner[order[twin + 1]]
        twin_length = length[order[twin]]
        same = first == second
        perimeter -= 2 * np.bincount(first[same], weights=twin_length[same], minlength=count)
        # Cells meeting at a (numerically split) point share a segment of ~1e-14 m: not a border.
        border = ~same & (twin_length > SHARED_EPSILON_M)
        pairs = zip(first[border].tolist(), second[border].tolist(), twin_length[border].tolist(), strict=True)
        for a, b, value in pairs:
            shared[a][b] = shared[b][a] = shared[a].get(b, 0.0) + value
        return cls(area=area.tolist(), perimeter=perimeter.tolist(), shared=shared)


def _pp(area: float, perimeter: float) -> float:
    return 4 * math.pi * area / (perimeter * perimeter) if perimeter > 0 else 0.0


def _polish(
    adjacency: dict[int, list[int]],
    state: _Groups,
    band: Band,
    shapes: CellShapes,
    borders: list[list[tuple[int, float]]] | None = None,
) -> float:
    """Moves and swaps that raise Σ Polsby-Popper of the groups' cell unions; returns the mean PP.

    Same constraints as `_improve` (band, contiguity of both groups); the
    objective is the compactness measure itself instead of inertia. Each
    group's area and perimeter are kept up to date from the cells' figures
    (`CellShapes`), so a candidate costs O(degree).
    """
    of, weights, weight, members = state.of, state.weights, state.weight, state.members
    count = len(members)
    cell_area, cell_perimeter = shapes.area, shapes.perimeter
    if borders is None:
        borders = shapes.border_lists()
    area = [sum(cell_area[n] for n in group) for group in members]
    perimeter = []
    for group in members:
        inside = sum(length for n in group for m, length in borders[n] if m in group) / 2
        perimeter.append(sum(cell_perimeter[n] for n in group) - 2 * inside)
    low, high = band.low, band.high
    nodes = sorted(of)

    def touching(node: int) -> dict[int, float]:
        """Border length between `node`'s cell and each group (its own group included, itself excluded)."""
        lengths: dict[int, float] = {}
        for m, length in borders[node]:
            group = of.get(m)
            if group is not None:
                lengths[group] = lengths.get(group, 0.0) + length
        return lengths

    compactness = [_pp(area[g], perimeter[g]) for g in range(count)]
    for _ in range(MAX_IMPROVE_PASSES):
        changed = False
        for node in nodes:
            source = of[node]
            node_weight = weights[node]
            if state.count[source] <= 1 or weight[source] - node_weight < low:
                continue
            targets = [
                target
                for target in sorted({of[n] for n in adjacency[node]})
                if target != source and weight[target] + node_weight <= high
            ]
            if not targets:  # inside its group, or every neighbouring group is full
                continue
            touch = touching(node)
            a_n, p_n = cell_area[node], cell_perimeter[node]
            source_area = area[source] - a_n
            source_perimeter = perimeter[source] - p_n + 2 * touch.get(source, 0.0)
            source_pp = _pp(source_area, source_perimeter)
            base = source_pp - compactness[source]
            best, best_gain, best_values = -1, 1e-9, (0.0, 0.0, 0.0)
            for target in targets:
                target_area = area[target] + a_n
                target_perimeter = perimeter[target] + p_n - 2 * touch.get(target, 0.0)
                target_pp = _pp(target_area, target_perimeter)
                gain = base + target_pp - compactness[target]
                if gain > best_gain:
                    best, best_gain, best_values = target, gain, (target_area, target_perimeter, target_pp)
            if best < 0:
                continue
            group = members[source]
            group.discard(node)
            connected = _connected(adjacency, group)
            group.add(node)
            if not connected:
                continue
            area[source], perimeter[source], compactness[source] = source_area, source_perimeter, source_pp
            area[best], perimeter[best], compactness[best] = best_values
            state.move(node, best)
            changed = True
        if not changed:
            break
    return sum(compactness) / count if count else 0.0


def _outline(members: set[int], shapes: CellShapes) -> tuple[float, float]:
    """Area and perimeter of the union of the members' cells (A = Σ a, P = Σ p − 2 × inner borders)."""
    area = perimeter = 0.0
    for node in members:
        area += shapes.area[node]
        perimeter += shapes.perimeter[node]
        for other, length in shapes.shared[node].items():
            if other in members:
                perimeter -= length  # each inner border is met from both sides
    return area, perimeter


def _recombine(
    adjacency: dict[int, list[int]],
    groups: list[set[int]],
    weights: Sequence[int],
    band: Band,
    shapes: CellShapes,
    lengths: dict[tuple[int, int], float],
    rng: random.Random,
    tried: dict[tuple[int, int], tuple[frozenset[int], frozenset[int]]],
) -> bool:
    """Merge two neighbouring groups and re-split them along a spanning tree when Σ Polsby-Popper rises.

    Single-point moves stall when a band is tight; re-drawing the border of
    two groups at once does not (the "recombination" step of redistricting
    samplers). For each pair of neighbouring groups, `RECOMBINE_TREES`
    random spanning trees of their union are drawn; every tree edge whose
    removal leaves two in-band parts is a candidate split (both parts are
    connected: they are subtrees), and the most compact split replaces the
    pair if it beats it. A pair already tried with the same members
    (`tried`, kept across sweeps) is skipped. Returns whether any pair changed.
    """
    of = {node: index for index, members in enumerate(groups) for node in members}
    pairs = sorted({(min(of[u], of[v]), max(of[u], of[v])) for u in of for v in adjacency[u] if of[u] != of[v]})
    changed = False
    for a, b in pairs:
        members = (frozenset(groups[a]), frozenset(groups[b]))
        if tried.get((a, b)) == members:
            continue
        tried[(a, b)] = members
        region = groups[a] | groups[b]
        ordered = sorted(region)
        total = sum(weights[node] for node in ordered)
        area_a, perimeter_a = _outline(groups[a], shapes)
        area_b, perimeter_b = _outline(groups[b], shapes)
        best_value = _pp(area_a, perimeter_a) + _pp(area_b, perimeter_b) + 1e-9
        best_part: set[int] | None = None
        region_edges = [(u, v, lengths[(u, v)]) for u in ordered for v in adjacency[u] if u < v and v in region]
        # A region that is itself a tree has one spanning tree: drawing more would repeat it.
        trees = 1 if len(region_edges) < len(ordered) else RECOMBINE_TREES
        evaluated: set[frozenset[int]] = {frozenset(groups[a]), frozenset(groups[b])}
        for _ in range(trees):
            tree = _random_spanning_tree(ordered, region_edges, rng, jitter=1.0)
            root = ordered[0]
            parent = {root: root}
            order = [root]
            for node in order:
                for kid in tree[node]:
                    if kid not in parent:
                        parent[kid] = node
                        order.append(kid)
            if len(order) < len(ordered):
                break  # the two groups no longer touch (an earlier pair moved their border)
            below = {node: weights[node] for node in order}
            for node in reversed(order[1:]):
                below[parent[node]] += below[node]
            fresh = False
            for node in order[1:]:
                if not (band.contains(below[node]) and band.contains(total - below[node])):
                    continue
                part = {node}
                stack = [node]
                while stack:
                    top = stack.pop()
                    for kid in tree[top]:
                        if parent[kid] == top and kid != top:
                            part.add(kid)
                            stack.append(kid)
                key = frozenset(part)
                if key in evaluated:
                    continue  # the same split from another tree, or the pair as it is
                evaluated.add(key)
                evaluated.add(frozenset(region - part))
                fresh = True
                rest = region - part
                value = _pp(*_outline(part, shapes)) + _pp(*_outline(rest, shapes))
                if value > best_value:
                    best_value, best_part = value, part
            if not fresh:
                break  # this tree offered no split not seen already: the pair's choices are likely exhausted
        if best_part is not None:
            groups[a], groups[b] = best_part, region - best_part
            for node in groups[a]:
                of[node] = a
            for node in groups[b]:
                of[node] = b
            changed = True
    return changed


def _exhaustive(
    nodes: Sequence[int],
    adjacency: dict[int, list[int]],
    weights: Sequence[int],
    xy: FloatArray,
    band: Band,
    shapes: CellShapes | None,
) -> list[list[int]] | None:
    """The best of ALL partitions into connected in-band groups, or None when there is none (a proof).

    Subsets are bitmasks over the (at most `EXACT_LIMIT`) points: first every
    block that could be a group — connected and within the band — is listed
    with its score, then partitions are built from those blocks only, each
    step covering the lowest point not yet covered. Best = highest mean
    Polsby-Popper with `shapes`, else lowest inertia × number of groups.
    """
    ordered = sorted(nodes)
    count = len(ordered)
    position = {node: index for index, node in enumerate(ordered)}
    neighbours = [0] * count
    for index, node in enumerate(ordered):
        for other in adjacency[node]:
            if other in position:
                neighbours[index] |= 1 << position[other]
    subsets = 1 << count
    weight = [0] * subsets
    for mask in range(1, subsets):
        lowest = mask & -mask
        weight[mask] = weight[mask ^ lowest] + weights[ordered[lowest.bit_length() - 1]]

    def connected(mask: int) -> bool:
        reached = frontier = mask & -mask
        while frontier:
            grown = 0
            for index in _bits(frontier):
                grown |= neighbours[index]
            frontier = grown & mask & ~reached
            reached |= frontier
        return reached == mask

    def value(members: list[int]) -> tuple[float, float]:
        """(Polsby-Popper, inertia) of one block."""
        if shapes is not None:
            inside = set(members)
            inner = sum(length for n in members for m, length in shapes.shared[n].items() if m in inside) / 2
            area = sum(shapes.area[n] for n in members)
            return _pp(area, sum(shapes.perimeter[n] for n in members) - 2 * inner), 0.0
        points = xy[members]
        return 0.0, float(((points - points.mean(axis=0)) ** 2).sum())

    blocks_from: list[list[tuple[int, float, float]]] = [[] for _ in range(count)]
    for mask in range(1, subsets):
        if band.contains(weight[mask]) and connected(mask):
            members = [ordered[index] for index in _bits(mask)]
            compactness, inertia = value(members)
            blocks_from[(mask & -mask).bit_length() - 1].append((mask, compactness, inertia))

    best: list[int] | None = None
    best_score = math.inf
    chosen: list[int] = []

    def place(rest: int, compactness: float, inertia: float) -> None:
        nonlocal best, best_score
        if not rest:
            groups = len(chosen)
            score = -compactness / groups if shapes is not None else inertia * groups
            if score < best_score - 1e-12:
                best_score, best = score, list(chosen)
            return
        for mask, block_compactness, block_inertia in blocks_from[(rest & -rest).bit_length() - 1]:
            if mask & rest == mask:
                chosen.append(mask)
                place(rest ^ mask, compactness + block_compactness, inertia + block_inertia)
                chosen.pop()

    place(subsets - 1, 0.0, 0.0)
    if best is None:
        return None
    return [[ordered[index] for index in _bits(mask)] for mask in best]


# ------------------------------------------------------------------ public


@dataclass
class Partition:
    """Groups of node indices (each sorted; groups in no particular order)."""

    groups: list[list[int]]
    inertia: float
    tries: int


def check_component(nodes: Sequence[int], weights: Sequence[int], band: Band) -> None:
    """Raise the proven reasons why a connected component cannot be cut into band-sized groups."""
    total = sum(weights[node] for node in nodes)
    params = {"nodes": sorted(nodes), "total": total, "low": band.low, "high": band.high}
    heavy = [node for node in nodes if weights[node] > band.high]
    if heavy:
        raise PartitionError("node_above_max", {**params, "heavy": heavy})
    if total < band.low:
        raise PartitionError("component_below_min", params)
    if not band.group_count_range(total):
        raise PartitionError("no_group_count", params)


def partition_component(
    graph: nx.Graph,
    nodes: Sequence[int],
    weights: Sequence[int],
    xy: FloatArray,
    band: Band,
    *,
    rng: random.Random,
    tries: int = DEFAULT_TRIES,
    shapes: CellShapes | None = None,
) -> Partition:
    """Band-sized, connected, compact groups of one connected component of `graph`.

    With `shapes` (the points' cells), each try ends with a Polsby-Popper
    polish, the try with the best mean Polsby-Popper wins and is then
    recombined (`_recombine`); without, the lowest inertia × group count wins.
    """
    check_component(nodes, weights, band)
    total = sum(weights[node] for node in nodes)
    if band.contains(total) and len(band.group_count_range(total)) == 1:
        return Partition(groups=[sorted(nodes)], inertia=0.0, tries=0)
    ordered = sorted(nodes)
    inside = set(ordered)
    links = graph.adj
    adjacency = {node: sorted(other for other in links[node] if other in inside) for node in ordered}
    if len(ordered) <= EXACT_LIMIT:
        exact = _exhaustive(ordered, adjacency, weights, xy, band, shapes)
        if exact is None:
            raise PartitionError("no_partition", {"nodes": ordered, "total": total, "low": band.low, "high": band.high})
        return Partition(groups=exact, inertia=0.0, tries=0)
    edges = [(a, b, float(links[a][b].get("length", 1.0))) for a in ordered for b in adjacency[a] if a < b]
    counts = band.group_count_range(total)
    target_size = band.low + TARGET_POSITION * (band.high - band.low)
    target_count = min(max(round(total / target_size), counts.start), counts.stop - 1)
    ideal = total / target_count
    ideals = [ideal]
    if target_count <= FEW_GROUPS:
        # With few groups a whole group more or less changes their shapes a lot: let some tries aim at k ± 1.
        ideals += [total / k for k in (target_count - 1, target_count + 1) if k in counts]
    best: Partition | None = None
    best_score = math.inf
    attempts = 0
    seen_cuts: set[tuple[tuple[int, ...], ...]] = set()
    points = [(float(x), float(y)) for x, y in xy]
    borders = shapes.border_lists() if shapes is not None else None
    seen_improved: set[tuple[tuple[int, ...], ...]] = set()
    # Failed trees cost little; allow a few more of them than successful ones.
    for attempt in range(tries * 4):
        if best is not None and attempt >= tries:
            break
        attempts += 1
        aim = ideals[attempt % len(ideals)] if attempt < tries else ideal
        if attempt >= tries and attempt % 2:
            # Still nothing after `tries` trees: depth-first trees are nearly paths, which cut far more easily.
            tree = _depth_first_tree(adjacency, rng)
        else:
            tree = _random_spanning_tree(ordered, edges, rng, jitter=0.0 if attempt == 0 else 0.5 + attempt / tries)
        groups = _tree_partition(tree, weights, band, rng, ideal=aim, noise=0.0 if attempt == 0 else 0.3)
        if groups is None:
            continue
        # The local search is deterministic: a cut (or an improved cut) seen before leads where it led before.
        cut = _canonical(groups)
        if cut in seen_cuts:
            continue
        seen_cuts.add(cut)
        state = _Groups.build(xy, weights, groups, points)
        if shapes is None:
            # Without cells, inertia is the objective. With cells the Polsby-Popper polish below starts
            # from the cut itself: an inertia pass first costs time and ends in worse local optima.
            _improve(adjacency, state, band)
        improved = _canonical(state.members)
        if improved in seen_improved:
            continue
        seen_improved.add(improved)
        if shapes is not None:
            score = -_polish(adjacency, state, band, shapes, borders)
            inertia = state.total_inertia()
        else:
            # Inertia falls as groups multiply (∝ 1/k for a fixed set), so compare inertia × k.
            inertia = state.total_inertia()
            score = inertia * len(groups)
        if score < best_score - 1e-9:
            best_score = score
            best = Partition(groups=[sorted(m) for m in state.members if m], inertia=inertia, tries=attempts)
    if best is None:
        raise PartitionError("not_found", {"nodes": sorted(nodes), "total": total, "low": band.low, "high": band.high})
    if shapes is not None and RECOMBINE_ROUNDS > 0:
        best = _recombined(best, adjacency, weights, xy, band, shapes, edges, rng)
    best.tries = attempts
    return best


def _recombined(
    best: Partition,
    adjacency: dict[int, list[int]],
    weights: Sequence[int],
    xy: FloatArray,
    band: Band,
    shapes: CellShapes,
    edges: Sequence[tuple[int, int, float]],
    rng: random.Random,
) -> Partition:
    """The winning partition after rounds of `_recombine` and a last Polsby-Popper polish."""
    groups = [set(group) for group in best.groups]
    lengths = {(a, b): length for a, b, length in edges}
    changed = False
    tried: dict[tuple[int, int], tuple[frozenset[int], frozenset[int]]] = {}
    for _ in range(RECOMBINE_ROUNDS):
        if not _recombine(adjacency, groups, weights, band, shapes, lengths, rng, tried):
            break
        changed = True
    if not changed:
        return best
    state = _Groups.build(xy, weights, [sorted(group) for group in groups])
    _polish(adjacency, state, band, shapes)
    return Partition(groups=[sorted(m) for m in state.members if m], inertia=state.total_inertia(), tries=best.tries)


def partition(
    graph: nx.Graph,
    weights: Sequence[int],
    xy: FloatArray,
    band: Band,
    *,
    seed: int = 0,
    tries: int = DEFAULT_TRIES,
    shapes: CellShapes | None = None,
) -> list[list[int]]:
    """Groups covering every node once: each connected in `graph`, weight within `band`.

    Raises `PartitionError` for the first component that cannot be grouped.
    Deterministic for a given seed.
    """
    rng = random.Random(seed)  # noqa: S311 (reproducible layout, not secrets)
    groups: list[list[int]] = []
    components = sorted((sorted(component) for component in nx.connected_components(graph)), key=lambda c: c[0])
    for component in components:
        found = partition_component(graph, component, weights, xy, band, rng=rng, tries=tries, shapes=shapes)
        groups.extend(found.groups)
    return sorted(groups, key=lambda group: group[0])


def point_faces(parent: BaseGeometry, xy: FloatArray) -> list[list[BaseGeometry]]:
    """Voronoi faces of each (distinct) point inside `parent`, from one noding (`tessellate.voronoi_faces`).

    Unions of them per group tile `parent` exactly; `CellShapes.from_faces`
    measures them without a union.
    """
    faces, owners = voronoi_faces(parent, list(shapely.points(np.asarray(xy, dtype=np.float64))))
    faces_of: list[list[BaseGeometry]] = [[] for _ in range(len(xy))]
    for face, owner in zip(faces, owners, strict=True):
        faces_of[owner].append(face)
    return faces_of


def point_cells(parent: BaseGeometry, xy: FloatArray) -> tuple[list[list[BaseGeometry]], list[BaseGeometry]]:
    """`point_faces`, and each point's cell (the union of its faces)."""
    faces_of = point_faces(parent, xy)
    return faces_of, [union_faces(group) for group in faces_of]


def is_connected_group(graph: nx.Graph, group: Sequence[int]) -> bool:
    return len(group) > 0 and nx.is_connected(graph.subgraph(group))


def polsby_popper(geometry: BaseGeometry) -> float:
    """4πA/P²: 1 for a disc, about 0.785 for a square, near 0 for a sliver."""
    perimeter = float(geometry.length)
    if perimeter <= 0:
        return 0.0
    return 4 * math.pi * float(geometry.area) / perimeter**2


def group_polygons(
    faces_of: Sequence[Sequence[BaseGeometry]], groups: Sequence[Sequence[int]], xy: FloatArray
) -> list[BaseGeometry]:
    """One polygon per group: the union of its points' faces, with stray pieces handed to a neighbour.

    Inside a concave outline a point's Voronoi cell can fall apart, leaving
    a group's union in pieces. A piece holding none of the group's points
    joins the neighbouring group it shares the longest border with, so
    grids stay single polygons where the outline allows; a piece that holds
    points stays (the group is then a MultiPolygon: its points are
    connected only across the outline's bay). Faces are only handed over,
    never cut, so the result still tiles the outline exactly.
    """
    members: list[list[BaseGeometry]] = [[face for n in group for face in faces_of[n]] for group in groups]
    unions = [union_faces(faces) for faces in members]
    strays: list[tuple[int, list[BaseGeometry]]] = []
    for index, (group, union) in enumerate(zip(groups, unions, strict=True)):
        parts = list(shapely.get_parts(union))
        if len(parts) < 2:
            continue
        points = [shapely.Point(xy[n]) for n in group]
        keep: list[BaseGeometry] = []
        for part in parts:
            shapely.prepare(part)
            faces = [face for face in members[index] if part.covers(face.point_on_surface())]
            if any(part.covers(point) for point in points):
                keep.extend(faces)
            else:
                strays.append((index, faces))
        members[index] = keep
    while strays:
        unions = [union_faces(faces) for faces in members]
        pending: list[tuple[int, list[BaseGeometry]]] = []
        for origin, faces in strays:
            piece = union_faces(faces)
            best, best_length = -1, 0.0
            for index, union in enumerate(unions):
                if index == origin or union.is_empty or not union.envelope.intersects(piece.envelope):
                    continue
                length = float(union.boundary.intersection(piece.boundary).length)
                if length > best_length:
                    best, best_length = index, length
            if best < 0:
                pending.append((origin, faces))
            else:
                members[best].extend(faces)
        if len(pending) == len(strays):  # touches nobody but its own group: give it back
            for origin, faces in pending:
                members[origin].extend(faces)
            break
        strays = pending
    return [union_faces(faces) for faces in members]

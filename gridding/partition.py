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
   seeded `random.Random`). Each cut is improved by local search that keeps
   both groups in band and the group a point leaves connected: first moves
   and neighbour swaps that lower the total moment of inertia (Σ squared
   distance to the group centroid, the k-means objective); then, when the
   points' cells are given (`CellShapes`, from `point_cells`), moves that
   raise the sum of the groups' Polsby-Popper scores, computed exactly from
   cell areas, perimeters and shared borders without any polygon union.
   The try with the best mean Polsby-Popper (or, without cells, the lowest
   inertia × group count) wins.

Small components (≤ `EXACT_LIMIT` points) are solved exactly instead: every
set partition is tried, the most compact valid one wins, and none valid is a
proof of infeasibility (`no_partition`).

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
# Components of at most this many points are solved exactly: every set partition is tried (Bell(8) = 4,140).
EXACT_LIMIT = 8
# Aim the number of groups at total / (low + this × (high − low)).
TARGET_POSITION = 0.5


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


def median_neighbour_distance(xy: FloatArray) -> float:
    """Median distance from each distinct position to its nearest other one (0 for fewer than two)."""
    unique = np.unique(np.asarray(xy, dtype=np.float64), axis=0)
    if len(unique) < 2:
        return 0.0
    distances, _ = cKDTree(unique).query(unique, k=2)
    return float(np.median(distances[:, 1]))


def _delaunay_edges(xy: FloatArray) -> set[tuple[int, int]]:
    n = len(xy)
    if n < 2:
        return set()
    try:
        if n < 3:
            raise QhullError("too few points")
        triangles = Delaunay(xy).simplices
    except (QhullError, ValueError):
        # Collinear (or two) points: their Delaunay graph is the path along the line.
        centred = xy - xy.mean(axis=0)
        axis = np.linalg.svd(centred, full_matrices=False)[2][0] if n > 1 else np.array([1.0, 0.0])
        order = np.argsort(centred @ axis, kind="stable")
        return {tuple(sorted((int(a), int(b)))) for a, b in zip(order[:-1], order[1:], strict=True)}  # type: ignore[misc]
    edges: set[tuple[int, int]] = set()
    for a, b, c in triangles:
        for u, v in ((a, b), (b, c), (a, c)):
            edges.add((int(min(u, v)), int(max(u, v))))
    # Points Qhull dropped as coplanar (near-duplicates) join their nearest vertex.
    used = np.unique(triangles)
    if len(used) < n:
        tree = cKDTree(xy[used])
        for point in sorted(set(range(n)) - {int(i) for i in used}):
            _, nearest = tree.query(xy[point])
            other = int(used[int(nearest)])
            edges.add((min(point, other), max(point, other)))
    return edges


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
    edges = sorted(_delaunay_edges(xy))
    lengths = {edge: float(np.hypot(*(xy[edge[0]] - xy[edge[1]]))) for edge in edges}

    blocked: set[tuple[int, int]] = set()
    if barriers and edges:
        lines = [geometry for geometry in barriers if not geometry.is_empty]
        if lines:
            tree = shapely.STRtree(lines)
            segments = shapely.linestrings([[xy[a], xy[b]] for a, b in edges])
            hits, _ = tree.query(segments, predicate="intersects")
            blocked = {edges[int(i)] for i in np.unique(hits)}
    passable = [edge for edge in edges if edge not in blocked]
    kept: set[tuple[int, int]] = set()
    if automatic and passable:
        skeleton = nx.Graph()
        skeleton.add_weighted_edges_from((a, b, lengths[(a, b)]) for a, b in passable)
        kept = {(min(a, b), max(a, b)) for a, b in nx.minimum_spanning_edges(skeleton, data=False)}
    cut_by_distance = 0
    for edge in passable:
        if limit > 0 and lengths[edge] > limit and edge not in kept:
            cut_by_distance += 1
            continue
        graph.add_edge(*edge, length=lengths[edge])
    return Adjacency(
        graph=graph,
        max_edge_m=limit,
        automatic=automatic,
        cut_by_distance=cut_by_distance,
        cut_by_barrier=len(blocked),
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
            merged = 0
            for shift in _bits(kid_open):
                merged |= current << shift
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
                merges = [s for s in _bits(kid_open) if s <= remaining and (before >> (remaining - s)) & 1]
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
    weighted = sorted(((length * (1.0 + jitter * rng.random()), a, b) for a, b, length in edges))
    parent = {node: node for node in nodes}

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    adjacency: dict[int, list[int]] = {node: [] for node in nodes}
    joined = 0
    for _, a, b in weighted:
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        parent[ra] = rb
        adjacency[a].append(b)
        adjacency[b].append(a)
        joined += 1
        if joined == len(nodes) - 1:
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
    def build(cls, xy: FloatArray, weights: Sequence[int], groups: list[list[int]]) -> _Groups:
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
    """Greedy boundary moves that lower the total inertia and keep band and contiguity."""
    for _ in range(MAX_IMPROVE_PASSES):
        moved = False
        for node in sorted(state.of):
            source = state.of[node]
            if state.count[source] <= 1:
                continue
            weight = state.weights[node]
            if state.weight[source] - weight < band.low:
                continue
            targets = {state.of[n] for n in adjacency[node] if n in state.of} - {source}
            if not targets:
                continue
            leave = state.inertia(source, extra=node, sign=-1) - state.inertia(source)
            best, best_gain = -1, 1e-9
            for target in sorted(targets):
                if state.weight[target] + weight > band.high:
                    continue
                gain = -(leave + state.inertia(target, extra=node, sign=1) - state.inertia(target))
                if gain > best_gain:
                    best, best_gain = target, gain
            if best < 0:
                continue
            rest = state.members[source] - {node}
            if not _connected(adjacency, rest):
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
    for u in sorted(adjacency):
        a = state.of.get(u)
        if a is None:
            continue
        for v in adjacency[u]:
            b = state.of.get(v)
            if b is None or b == a or v < u:
                continue
            difference = state.weights[v] - state.weights[u]
            if not (band.contains(state.weight[a] + difference) and band.contains(state.weight[b] - difference)):
                continue
            before = state.inertia(a) + state.inertia(b)
            after = state.inertia_swapped(a, u, v) + state.inertia_swapped(b, v, u)
            if after >= before - 1e-9:
                continue
            new_a = (state.members[a] - {u}) | {v}
            new_b = (state.members[b] - {v}) | {u}
            if not (_connected(adjacency, new_a) and _connected(adjacency, new_b)):
                continue
            state.move(u, b)
            state.move(v, a)
            swapped = True
            a = b  # u now belongs to b; its remaining edges are looked at from there
    return swapped


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


def _pp(area: float, perimeter: float) -> float:
    return 4 * math.pi * area / (perimeter * perimeter) if perimeter > 0 else 0.0


def _polish(adjacency: dict[int, list[int]], state: _Groups, band: Band, shapes: CellShapes) -> float:
    """Moves and swaps that raise Σ Polsby-Popper of the groups' cell unions; returns the mean PP.

    Same constraints as `_improve` (band, contiguity of both groups); the
    objective is the compactness measure itself instead of inertia.
    """
    count = len(state.members)
    area = [sum(shapes.area[n] for n in members) for members in state.members]
    perimeter = []
    for members in state.members:
        inside = sum(length for n in members for m, length in shapes.shared[n].items() if m in members) / 2
        perimeter.append(sum(shapes.perimeter[n] for n in members) - 2 * inside)

    def touching(node: int, members: set[int], skip: int = -1) -> float:
        return sum(length for m, length in shapes.shared[node].items() if m in members and m != skip)

    for _ in range(MAX_IMPROVE_PASSES):
        changed = False
        for node in sorted(state.of):
            source = state.of[node]
            if state.count[source] <= 1 or state.weight[source] - state.weights[node] < band.low:
                continue
            a_n, p_n = shapes.area[node], shapes.perimeter[node]
            source_area = area[source] - a_n
            source_perimeter = perimeter[source] - p_n + 2 * touching(node, state.members[source], node)
            before_source = _pp(area[source], perimeter[source])
            best, best_gain, best_values = -1, 1e-9, (0.0, 0.0)
            for target in sorted({state.of[n] for n in adjacency[node] if n in state.of} - {source}):
                if state.weight[target] + state.weights[node] > band.high:
                    continue
                target_area = area[target] + a_n
                target_perimeter = perimeter[target] + p_n - 2 * touching(node, state.members[target])
                gain = (
                    _pp(source_area, source_perimeter)
                    + _pp(target_area, target_perimeter)
                    - before_source
                    - _pp(area[target], perimeter[target])
                )
                if gain > best_gain:
                    best, best_gain, best_values = target, gain, (target_area, target_perimeter)
            if best < 0 or not _connected(adjacency, state.members[source] - {node}):
                continue
            area[source], perimeter[source] = source_area, source_perimeter
            area[best], perimeter[best] = best_values
            state.move(node, best)
            changed = True
        if not changed:
            break
    return sum(_pp(area[g], perimeter[g]) for g in range(count)) / count if count else 0.0


def _exhaustive(
    nodes: Sequence[int],
    adjacency: dict[int, list[int]],
    weights: Sequence[int],
    xy: FloatArray,
    band: Band,
    shapes: CellShapes | None,
) -> list[list[int]] | None:
    """The best of ALL partitions into connected in-band groups, or None when there is none (a proof).

    Blocks are grown point by point (restricted growth), pruned as soon as
    one passes the maximum. Best = highest mean Polsby-Popper with `shapes`,
    else lowest inertia × number of groups.
    """
    ordered = sorted(nodes)
    blocks: list[list[int]] = []
    block_weight: list[int] = []
    best: list[list[int]] | None = None
    best_score = math.inf

    def score(candidate: list[list[int]]) -> float:
        if shapes is not None:
            total = 0.0
            for block in candidate:
                members = set(block)
                inner = sum(length for n in block for m, length in shapes.shared[n].items() if m in members) / 2
                area = sum(shapes.area[n] for n in block)
                total += _pp(area, sum(shapes.perimeter[n] for n in block) - 2 * inner)
            return -total / len(candidate)
        inertia = 0.0
        for block in candidate:
            points = xy[block]
            inertia += float(((points - points.mean(axis=0)) ** 2).sum())
        return inertia * len(candidate)

    def place(position: int) -> None:
        nonlocal best, best_score
        if position == len(ordered):
            if any(weight < band.low for weight in block_weight):
                return
            if not all(_connected(adjacency, set(block)) for block in blocks):
                return
            value = score(blocks)
            if value < best_score - 1e-12:
                best_score, best = value, [sorted(block) for block in blocks]
            return
        node = ordered[position]
        weight = weights[node]
        for index in range(len(blocks)):
            if block_weight[index] + weight <= band.high:
                blocks[index].append(node)
                block_weight[index] += weight
                place(position + 1)
                blocks[index].pop()
                block_weight[index] -= weight
        blocks.append([node])
        block_weight.append(weight)
        place(position + 1)
        blocks.pop()
        block_weight.pop()

    place(0)
    return best


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
    polish and the try with the best mean Polsby-Popper wins; without, the
    lowest inertia × group count wins.
    """
    check_component(nodes, weights, band)
    sub = graph.subgraph(nodes)
    total = sum(weights[node] for node in nodes)
    if band.contains(total) and len(band.group_count_range(total)) == 1:
        return Partition(groups=[sorted(nodes)], inertia=0.0, tries=0)
    ordered = sorted(nodes)
    adjacency = {node: sorted(sub.neighbors(node)) for node in ordered}
    if len(ordered) <= EXACT_LIMIT:
        exact = _exhaustive(ordered, adjacency, weights, xy, band, shapes)
        if exact is None:
            raise PartitionError("no_partition", {"nodes": ordered, "total": total, "low": band.low, "high": band.high})
        return Partition(groups=exact, inertia=0.0, tries=0)
    edges = [(min(a, b), max(a, b), float(data.get("length", 1.0))) for a, b, data in sub.edges(data=True)]
    edges.sort()
    counts = band.group_count_range(total)
    target_size = band.low + TARGET_POSITION * (band.high - band.low)
    target_count = min(max(round(total / target_size), counts.start), counts.stop - 1)
    ideal = total / target_count
    best: Partition | None = None
    best_score = math.inf
    attempts = 0
    # Failed trees cost little; allow a few more of them than successful ones.
    for attempt in range(tries * 4):
        if best is not None and attempt >= tries:
            break
        attempts += 1
        if attempt >= tries and attempt % 2:
            # Still nothing after `tries` trees: depth-first trees are nearly paths, which cut far more easily.
            tree = _depth_first_tree(adjacency, rng)
        else:
            tree = _random_spanning_tree(ordered, edges, rng, jitter=0.0 if attempt == 0 else 0.5 + attempt / tries)
        groups = _tree_partition(tree, weights, band, rng, ideal=ideal, noise=0.0 if attempt == 0 else 0.3)
        if groups is None:
            continue
        state = _Groups.build(xy, weights, groups)
        _improve(adjacency, state, band)
        if shapes is not None:
            score = -_polish(adjacency, state, band, shapes)
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
    best.tries = attempts
    return best


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


def point_cells(parent: BaseGeometry, xy: FloatArray) -> tuple[list[list[BaseGeometry]], list[BaseGeometry]]:
    """Voronoi faces of each (distinct) point inside `parent`, and each point's cell (their union).

    Faces come from one noding (`tessellate.voronoi_faces`), so unions of
    them per group tile `parent` exactly.
    """
    faces, owners = voronoi_faces(parent, [shapely.Point(p) for p in xy])
    faces_of: list[list[BaseGeometry]] = [[] for _ in range(len(xy))]
    for face, owner in zip(faces, owners, strict=True):
        faces_of[owner].append(face)
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

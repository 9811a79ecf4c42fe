"""Invariants the faster partition engine relies on: cell figures without unions, exact small cases, adjacency."""

from __future__ import annotations

import math
from collections.abc import Iterator

import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial.distance import pdist, squareform
from shapely.geometry import Polygon, box

from gridding.partition import (
    Band,
    CellShapes,
    PartitionError,
    adjacency_graph,
    is_connected_group,
    median_neighbour_distance,
    partition,
    point_cells,
    point_faces,
    polsby_popper,
    spread_duplicates,
)
from gridding.tessellate import union_faces

U_SHAPE = Polygon([(-80, -80), (680, -80), (680, 680), (380, 680), (300, 200), (220, 680), (-80, 680)])


@st.composite
def point_sets(draw: st.DrawFn, *, low: int = 2, high: int = 60) -> np.ndarray:
    """Clustered points in metres, some on a coarse grid (collinear runs) and some on one spot (then spread)."""
    count = draw(st.integers(low, high))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 600, (draw(st.integers(1, 4)), 2))
    xy = centres[rng.integers(0, len(centres), count)] + rng.normal(0, 40, (count, 2))
    if draw(st.booleans()):
        xy = np.round(xy / 25.0) * 25.0
    return spread_duplicates(np.clip(xy, -50, 650))


def hull_parent(xy: np.ndarray) -> shapely.Geometry:
    return shapely.multipoints(xy).convex_hull.buffer(max(10.0, median_neighbour_distance(xy)))


def union_pp(faces_of: list[list[shapely.Geometry]], group: list[int]) -> float:
    return polsby_popper(union_faces([face for n in group for face in faces_of[n]]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(xy=point_sets(), concave=st.booleans())
def test_cell_figures_from_faces_equal_those_of_the_unioned_cells(xy: np.ndarray, concave: bool) -> None:
    # Given the Voronoi faces of some points inside a hull or a U-shaped outline (cells may fall apart there).
    parent = U_SHAPE if concave else hull_parent(xy)
    faces_of, cells = point_cells(parent, xy)

    # When measured from the faces (segment matching) and from the unioned cells (polygon overlay).
    fast = CellShapes.from_faces(faces_of)
    slow = CellShapes.from_cells(cells)

    # Then areas, perimeters and every real shared border agree.
    assert fast.area == pytest.approx(slow.area, rel=1e-9, abs=1e-6)
    assert fast.perimeter == pytest.approx(slow.perimeter, rel=1e-9, abs=1e-6)
    for node in range(len(xy)):
        real = {other: length for other, length in slow.shared[node].items() if length > 1e-6}
        assert {other for other, length in fast.shared[node].items() if length > 1e-6} == set(real)
        for other, length in real.items():
            assert fast.shared[node][other] == pytest.approx(length, rel=1e-9, abs=1e-6)


def set_partitions(items: list[int]) -> Iterator[list[list[int]]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for smaller in set_partitions(rest):
        for index in range(len(smaller)):
            yield [*smaller[:index], [first, *smaller[index]], *smaller[index + 1 :]]
        yield [[first], *smaller]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    xy=point_sets(low=2, high=7),
    weights=st.lists(st.integers(0, 70), min_size=7, max_size=7),
    low=st.integers(20, 60),
    width=st.integers(0, 60),
)
def test_small_components_get_the_most_compact_valid_partition(
    xy: np.ndarray, weights: list[int], low: int, width: int
) -> None:
    # Given at most 7 buildings (solved exactly) with their cells.
    band = Band(low, low + width)
    weights = weights[: len(xy)]
    graph = adjacency_graph(xy).graph
    faces_of = point_faces(hull_parent(xy), xy)
    shapes = CellShapes.from_faces(faces_of)

    # When every set partition is scored by brute force with real polygon unions,
    valid = [
        candidate
        for candidate in set_partitions(list(range(len(xy))))
        if all(band.contains(sum(weights[n] for n in g)) and is_connected_group(graph, g) for g in candidate)
    ]
    best = max((sum(union_pp(faces_of, g) for g in c) / len(c) for c in valid), default=None)

    # then the engine finds the same optimum, or proves there is none (only when the graph is one component).
    if not nx.is_connected(graph):
        return
    try:
        groups = partition(graph, weights, xy, band, seed=3, shapes=shapes)
    except PartitionError as error:
        assert best is None
        assert error.kind in {"node_above_max", "component_below_min", "no_group_count", "no_partition"}
        return
    assert best is not None
    assert sum(union_pp(faces_of, g) for g in groups) / len(groups) == pytest.approx(best, abs=1e-9)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(xy=point_sets(low=9, high=80), data=st.data(), seed=st.integers(0, 1000))
def test_partition_with_cells_is_in_band_contiguous_complete_and_deterministic(
    xy: np.ndarray, data: st.DataObject, seed: int
) -> None:
    # Given buildings of 0–60 households and their cells (the tree search, polish and recombination all run).
    weights = data.draw(st.lists(st.integers(0, 60), min_size=len(xy), max_size=len(xy)))
    band = Band(30, 100)
    graph = adjacency_graph(xy).graph
    shapes = CellShapes.from_faces(point_faces(hull_parent(xy), xy))

    try:
        groups = partition(graph, weights, xy, band, seed=seed, shapes=shapes)
    except PartitionError as error:
        assert error.kind in {"component_below_min", "no_group_count", "no_partition", "not_found"}
        return

    # Then every building is in exactly one group, each group connected and within the band,
    assert sorted(n for group in groups for n in group) == list(range(len(xy)))
    for group in groups:
        assert band.contains(sum(weights[n] for n in group))
        assert is_connected_group(graph, group)
    # and the same seed gives the same groups.
    assert partition(graph, weights, xy, band, seed=seed, shapes=shapes) == groups


def test_a_first_cut_that_local_search_cannot_change_is_still_returned() -> None:
    # Given ten buildings in a row of 50 households each and a band of exactly 100: one valid partition, into
    # neighbouring pairs, which no move or swap can change (regression: such a cut was once skipped as "seen").
    xy = np.column_stack([np.arange(10) * 20.0, np.zeros(10)])
    weights = [50] * 10
    graph = adjacency_graph(xy).graph
    shapes = CellShapes.from_faces(point_faces(box(-20, -20, 200, 20), xy))

    groups = partition(graph, weights, xy, Band(100, 100), seed=0, shapes=shapes)

    assert groups == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]


@settings(max_examples=40, deadline=None)
@given(xy=point_sets(low=2, high=60))
def test_automatic_adjacency_keeps_a_euclidean_minimum_spanning_tree(xy: np.ndarray) -> None:
    # Given any buildings, the automatic graph (Delaunay minus long edges, minimum spanning tree kept)
    adjacency = adjacency_graph(xy)
    graph = adjacency.graph

    # is connected and as light as the minimum spanning tree of ALL pairwise distances,
    assert nx.is_connected(graph)
    spanning = nx.minimum_spanning_tree(graph, weight="length")
    euclidean = minimum_spanning_tree(squareform(pdist(xy))).sum()
    assert spanning.size(weight="length") == pytest.approx(euclidean, rel=1e-9)
    # and an edge above the limit is kept only where the short edges leave its ends apart.
    short = nx.Graph()
    short.add_nodes_from(graph)
    short.add_edges_from((a, b) for a, b, data in graph.edges(data=True) if data["length"] <= adjacency.max_edge_m)
    for a, b, data in graph.edges(data=True):
        if data["length"] > adjacency.max_edge_m:
            assert not nx.has_path(short, a, b)


@pytest.mark.parametrize("count", [30, 400])
def test_median_neighbour_distance_counts_each_position_once(count: int) -> None:
    # Given points (both the dense and the k-d tree path) where some positions are repeated.
    rng = np.random.default_rng(count)
    base = rng.uniform(0, 1000, (count, 2))
    xy = np.concatenate([base, base[: count // 3]])

    distances = squareform(pdist(base))
    np.fill_diagonal(distances, math.inf)
    assert median_neighbour_distance(xy) == pytest.approx(float(np.median(distances.min(axis=1))), rel=1e-12)
    assert median_neighbour_distance(xy[:1]) == 0.0

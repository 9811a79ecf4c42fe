"""Staff print a compound's poster with its QR code; out of scope is a 404."""

from __future__ import annotations

import re

import pytest

from gridgov.portal.models import CompoundQr
from gridgov.testing.factories import AreaTree

pytestmark = pytest.mark.django_db


def test_grid_worker_prints_the_poster_of_a_compound_in_their_grid(client, personas, tree: AreaTree) -> None:
    # given the grid worker of grid 0
    client.force_login(personas["grid_worker"])
    compound = tree.compounds[0]
    # when they open the compound's poster
    response = client.get(f"/r/posters/{compound.pk}/")
    # then it is an A4 page with the compound's name, the instructions and an inline SVG QR code
    assert response.status_code == 200
    body = response.content.decode()
    assert compound.name in body and "扫码反映问题" in body
    assert "<svg" in body
    # and the code's address is the compound's unguessable token, made once
    token = CompoundQr.objects.get(compound=compound).token
    assert len(token) >= 20
    assert f"/r/c/{token}/" in body
    client.get(f"/r/posters/{compound.pk}/")
    assert CompoundQr.objects.filter(compound=compound).count() == 1


def test_poster_of_a_compound_outside_the_scope_is_the_same_404_as_a_missing_one(
    client, personas, tree: AreaTree
) -> None:
    # given the grid worker of grid 0 and a compound in grid 1
    client.force_login(personas["grid_worker"])
    foreign = client.get(f"/r/posters/{tree.compounds[1].pk}/")
    missing = client.get("/r/posters/999999/")
    # then both are 404, and no token was made for it
    assert foreign.status_code == missing.status_code == 404
    assert not CompoundQr.objects.filter(compound=tree.compounds[1]).exists()


def test_outsider_and_residents_cannot_print_posters(client, personas, tree: AreaTree) -> None:
    client.force_login(personas["outsider"])
    assert client.get(f"/r/posters/{tree.compounds[0].pk}/").status_code == 404
    client.force_login(personas["resident"])
    assert client.get(f"/r/posters/{tree.compounds[0].pk}/").status_code == 404


def test_poster_list_shows_the_compounds_in_scope(client, personas, tree: AreaTree) -> None:
    # given community staff of community 0 (grids 0 and 1)
    client.force_login(personas["community_staff"])
    body = client.get("/r/posters/").content.decode()
    links = set(re.findall(r'href="/r/posters/(\d+)/"', body))
    assert links == {str(tree.compounds[0].pk), str(tree.compounds[1].pk)}


def test_unknown_qr_token_is_404(client, tree: AreaTree) -> None:
    assert client.get("/r/c/not-a-real-token/").status_code == 404


def test_poster_list_query_count_does_not_grow_with_compounds(
    client, personas, tree: AreaTree, django_assert_max_num_queries
) -> None:
    # given county command, who sees all eight compounds
    client.force_login(personas["county_command"])
    with django_assert_max_num_queries(12):
        body = client.get("/r/posters/").content.decode()
    assert len(re.findall(r'href="/r/posters/\d+/"', body)) == len(tree.compounds)

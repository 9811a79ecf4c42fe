"""The OpenAPI document describes the area operations and the bearer scheme."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_openapi_lists_area_operations_with_bearer_security(client: Client) -> None:
    # when anyone fetches the OpenAPI document
    response = client.get("/api/v1/openapi.json")
    # then it lists both area operations, each guarded by the bearer scheme
    assert response.status_code == 200
    document = response.json()
    assert document["components"]["securitySchemes"] == {"BearerToken": {"type": "http", "scheme": "bearer"}}
    detail = document["paths"]["/api/v1/areas/{code}"]["get"]
    children = document["paths"]["/api/v1/areas/{code}/children"]["get"]
    for operation in (detail, children):
        assert operation["security"] == [{"BearerToken": []}]
        assert set(operation["responses"]) >= {"200", "404"}
    # and the children operation is paginated by page number
    parameters = {parameter["name"] for parameter in children["parameters"]}
    assert {"code", "page", "page_size"} <= parameters
    paged = children["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(document["components"]["schemas"][paged]["properties"]) == {"items", "count"}


# Signing in cannot need a token: the residents' one-time-code login is the only exception.
PUBLIC_OPERATIONS = {("/api/v1/portal/login/code", "post"), ("/api/v1/portal/login/verify", "post")}


def test_every_operation_requires_the_bearer_token_but_the_residents_login(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    operations = [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]
    assert {(path, method) for path, method, _op in operations} >= PUBLIC_OPERATIONS
    for path, method, operation in operations:
        if (path, method) in PUBLIC_OPERATIONS:
            assert "security" not in operation
        else:
            assert operation.get("security") == [{"BearerToken": []}], path

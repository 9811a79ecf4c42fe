"""Calling /api/v1 in tests as a given user, with a bearer token issued once per user."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from gridgov.accounts.services import api_token_issue


class ApiClient:
    """`api.get(user, "/path", **query)` and `api.post(user, "/path", body)` under `prefix`."""

    def __init__(self, client: Client, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.tokens: dict[int, str] = {}

    def headers(self, user: Any) -> dict[str, str]:
        if user.pk not in self.tokens:
            self.tokens[user.pk] = api_token_issue(actor=None, user=user)[1]
        return {"Authorization": f"Bearer {self.tokens[user.pk]}"}

    def get(self, user: Any, path: str, **params: Any) -> Any:
        return self.client.get(f"{self.prefix}{path}", params, headers=self.headers(user))

    def post(self, user: Any, path: str, body: Any = None) -> Any:
        return self.client.post(
            f"{self.prefix}{path}",
            data=json.dumps({} if body is None else body),
            content_type="application/json",
            headers=self.headers(user),
        )

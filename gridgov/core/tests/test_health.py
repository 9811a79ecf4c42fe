from django.test import Client


def test_health_answers_ok_without_touching_the_database(client: Client) -> None:
    # Given an anonymous caller (a load balancer), and no database access allowed
    # (pytest-django raises on any query in a test without the db mark)
    # When it asks for the health endpoint
    response = client.get("/healthz")
    # Then the server answers ok, uncached
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]


def test_health_refuses_writes(client: Client) -> None:
    assert client.post("/healthz").status_code == 405

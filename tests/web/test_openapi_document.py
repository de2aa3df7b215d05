"""The OpenAPI document says what the app answers: error shape, statuses, media types, Allow."""

from __future__ import annotations

import jsonschema
import pytest

from duban.domain import UserRole
from tests.web.browser import add_user, api_token

ERROR_REF = "#/components/schemas/ErrorRead"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
async def spec(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method, path, op


async def test_every_error_is_documented_in_the_apps_shape(spec):
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for method, path, op in operations(spec):
        responses = op["responses"]
        assert {"401", "403", "503"} <= set(responses), (method, path)
        assert responses["503"]["headers"]["Retry-After"]["required"] is True
        if op.get("parameters") or "requestBody" in op:
            assert "422" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        for status, response in responses.items():
            if status[0] in "45":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (method, path, status)


async def test_every_success_has_a_typed_body(spec):
    for method, path, op in operations(spec):
        ok = [s for s in op["responses"] if s.startswith("2")]
        assert ok, (method, path)
        for status in ok:
            content = op["responses"][status].get("content")
            if status == "204":
                assert not content
                continue
            assert content, (method, path, status)
            for media, body in content.items():
                schema = body["schema"]
                if media == "application/json":
                    typed = schema.get("$ref") or schema.get("items", {}).get("$ref")
                    assert typed, (method, path, status, schema)
                else:
                    assert schema == {"type": "string", "format": "binary"}, (method, path)


async def test_exports_are_described_with_their_media_types(spec):
    paths = spec["paths"]
    xlsx = paths["/api/v1/assessment/export.xlsx"]["get"]["responses"]["200"]["content"]
    pdf = paths["/api/v1/assessment/report.pdf"]["get"]["responses"]["200"]["content"]
    assert list(xlsx) == ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
    assert list(pdf) == ["application/pdf"]


async def test_constraints_are_in_the_schemas(spec):
    models = spec["components"]["schemas"]
    assert models["PasswordChange"]["properties"]["new_password"]["minLength"] == 8
    assert models["UserCreate"]["properties"]["password"]["minLength"] == 8
    rating = models["BulkApproveCreate"]["properties"]["rating"]
    assert (rating["minimum"], rating["maximum"]) == (1, 5)
    assert models["EvaluationCreate"]["properties"]["period"]["pattern"].startswith("^")
    ids = models["SubmissionCreate"]["properties"]["evidence_ids"]["items"]
    assert (ids["minimum"], ids["maximum"]) == (1, 2**31 - 1)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/v1/users", "GET, POST"),
        ("OPTIONS", "/api/v1/auth/me", "GET, PATCH"),
        ("PUT", "/api/v1/departments/x", "GET, PATCH"),
        ("GET", "/api/v1/auth/token", "POST"),
    ],
)
async def test_405_allow_names_every_method_of_the_path(client, method, path, allow):
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json()["detail"]


async def test_a_422_matches_the_documented_schema(client, spec, db):
    _, username = add_user(db, UserRole.SUPERVISOR)
    headers = await api_token(client, username)
    response = await client.post(
        "/api/v1/reviews/bulk-approve",
        json={"submission_ids": ["7"], "rating": True},
        headers=headers,
    )
    assert response.status_code == 422
    jsonschema.validate(response.json(), {"$ref": ERROR_REF, "components": spec["components"]})
    assert spec["components"]["schemas"]["ErrorRead"]["required"] == ["detail"]
    fields = {tuple(e["loc"]) for e in response.json()["errors"]}
    assert ("body", "submission_ids", 0) in fields and ("body", "rating") in fields


async def test_undecodable_body_is_a_documented_400(client, db):
    _, username = add_user(db, UserRole.ADMIN)
    headers = await api_token(client, username)
    response = await client.post(
        "/api/v1/departments",
        content=b"\xff\xfe{",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert set(response.json()) == {"detail"}


async def test_draft_with_an_unreadable_media_type_is_415(client, db):
    _, username = add_user(db, UserRole.SUPERVISOR)
    headers = await api_token(client, username)
    response = await client.post(
        "/api/v1/policies/drafts",
        content=b"text",
        headers={**headers, "Content-Type": "text/plain"},
    )
    assert response.status_code == 415

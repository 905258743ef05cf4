"""The OpenAPI document is valid and describes what the API answers."""
from openapi_spec_validator import validate

from conftest import JSON


def test_openapi_document_is_valid_and_public(testapp):
    document = testapp.get("/@openapi.json").json
    validate(document)
    assert document["servers"] == [{"url": "http://registry.test"}]
    assert {"/orgs", "/orgs/{regno}", "/@openapi.json"} <= set(document["paths"])


def test_documented_organisation_fields_are_what_the_api_returns(testapp, login_as):
    schema = testapp.get("/@openapi.json").json["components"]["schemas"]["Organisation"]
    body = login_as("clerk_a").get("/orgs/1000001/", headers=JSON).json
    assert set(schema["required"]) <= set(body)
    assert set(body) - {"sub_units"} <= set(schema["properties"])

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


def test_documented_letter_and_delivery_fields_are_what_the_api_returns(testapp, in_site, pki):
    import pdfs
    from registry import exchange

    schemas = testapp.get("/@openapi.json").json["components"]["schemas"]
    with in_site() as site:
        letter = exchange.create_draft(site, "rm_a", site.orgs["1000001"], subject="x",
                                       recipients=["1000002"])
        exchange.attach_pdf(site, "rm_a", letter, pdfs.signed_letter(pki, "1000001"), "a.pdf",
                            1 << 20)
        token, _ = site.users.issue_token(site.users["rm_a"])
        path = f"/orgs/1000001/outbox/{letter.__name__}/"
    body = testapp.get(path, headers={**JSON, "Authorization": f"Bearer {token}"}).json
    assert set(body) - {"@type"} <= set(schemas["Letter"]["properties"])
    assert set(body["pdf"]) <= set(schemas["PDFInfo"]["properties"])

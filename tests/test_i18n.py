"""Mongolian first, English available; every message id of ours is translated."""
import subprocess
from pathlib import Path

import polib
import pytest

from conftest import csrf_token

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "src" / "registry" / "locale"


def test_pages_speak_mongolian_by_default(testapp):
    page = testapp.get("/@@login")
    assert "Нэвтрэх" in page.text and 'lang="mn"' in page.text
    assert "Sign in" not in page.text


def test_english_is_one_click_away(testapp):
    page = testapp.get("/@@login")
    response = testapp.post("/@@set-language", {"lang": "en", "came_from": "/@@login",
                                                 "csrf_token": csrf_token(page)}, status=302)
    assert response.location == "http://registry.test/@@login"
    english = testapp.get("/@@login")
    assert "Sign in" in english.text and 'lang="en"' in english.text


def test_form_errors_come_in_mongolian_from_our_deform_and_colander_catalogs(login_as):
    app = login_as("admin")
    form = app.get("/orgs/@@add").forms["deform"]
    page = form.submit("save", status=400)  # everything empty
    assert "Заавал бөглөнө" in page.text  # colander's "Required"
    assert "Илгээсэн мэдээлэлд алдаа байна" in page.text  # deform's form error


def test_json_errors_are_translated_too(testapp):
    body = testapp.get("/orgs", headers={"Accept": "application/json"}, status=401).json
    assert body["error"]["code"] == "UNAUTHORIZED"
    assert any("\u0400" <= ch <= "\u04ff" for ch in body["error"]["message"])


def extracted_ids(tmp_path):
    pot = tmp_path / "registry.pot"
    subprocess.run(["pot-create", "-c", "etc/lingua.cfg", "-d", "registry", "-o", str(pot),
                    "src/registry", "templates", "workflows"], cwd=ROOT, check=True,
                   capture_output=True)
    return {entry.msgid for entry in polib.pofile(str(pot))}


def test_every_message_of_the_code_and_templates_is_translated_to_mongolian(tmp_path):
    ids = extracted_ids(tmp_path)
    assert len(ids) > 100
    catalog = polib.pofile(str(LOCALE / "mn" / "LC_MESSAGES" / "registry.po"))
    translated = {e.msgid for e in catalog.translated_entries()}
    missing = sorted(ids - translated)
    assert not missing, f"not translated to Mongolian (run `make pot`, translate): {missing}"


def test_every_workflow_title_comes_from_the_toml_and_is_translated_to_mongolian():
    """The extractor gives each state's and transition's TOML title as its message (the one
    the pages show), and the Mongolian catalog translates every one."""
    from registry.workflow import state_titles, transition_titles
    from registry.workflow.extract import WorkflowExtractor

    extracted = {}
    for path in sorted((ROOT / "workflows").glob("*.toml")):
        for message in WorkflowExtractor()(str(path), None):
            extracted[message.msgid] = message.comment
    shown = {**state_titles(), **transition_titles()}
    assert extracted == {str(title): f"Default: {title.default}" for title in shown.values()}
    assert extracted["state-handed_over"] == "Default: Handed over to the archive"
    assert extracted["transition-close"] == "Default: Close with a note"
    catalog = polib.pofile(str(LOCALE / "mn" / "LC_MESSAGES" / "registry.po"))
    translated = {e.msgid for e in catalog.translated_entries()}
    assert sorted(set(extracted) - translated) == []


@pytest.mark.parametrize("domain", ["registry", "deform", "colander"])
def test_compiled_catalogs_match_their_sources(domain):
    po = polib.pofile(str(LOCALE / "mn" / "LC_MESSAGES" / f"{domain}.po"))
    mo = polib.mofile(str(LOCALE / "mn" / "LC_MESSAGES" / f"{domain}.mo"))
    from_po = {e.msgid: e.msgstr for e in po.translated_entries()}
    from_mo = {e.msgid: e.msgstr for e in mo if e.msgid}
    assert from_po == from_mo, f"{domain}.mo is stale: run `make catalogs`"


def test_placeholders_survive_translation():
    import re

    for domain in ("registry", "deform", "colander"):
        for entry in polib.pofile(str(LOCALE / "mn" / "LC_MESSAGES" / f"{domain}.po")):
            if entry.obsolete:  # kept by msgmerge for a message the code no longer has
                continue
            source = entry.msgid
            default = re.search(r"Default: (.*)", entry.comment or "", re.S)
            if default:
                source = default.group(1)
            names = set(re.findall(r"\$\{(\w+)\}", source))
            assert set(re.findall(r"\$\{(\w+)\}", entry.msgstr)) == names, entry.msgid

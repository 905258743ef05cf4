"""Unit tests of the persistent content on a real (in-memory) ZODB."""
import pytest
import transaction
import ZODB
from ZODB.MappingStorage import MappingStorage

from registry.errors import Conflict, NotFound, RegistryError
from registry.resources.evolve import bootstrap
from registry.resources.folder import Folder, FolderKeyError
from registry.resources.organisation import Organisation
from registry.store import site_of


@pytest.fixture
def site():
    db = ZODB.DB(MappingStorage())
    bootstrap(db)
    conn = db.open()
    yield site_of(conn)
    transaction.abort()
    conn.close()
    db.close()


def test_folder_add_sets_place_and_remove_clears_it():
    folder, child = Folder(), Folder()
    folder.add("a", child)
    assert (child.__parent__, child.__name__) == (folder, "a")
    assert folder["a"] is child and "a" in folder and len(folder) == 1
    with pytest.raises(FolderKeyError):
        folder.add("a", Folder())
    assert folder.remove("a") is child
    assert child.__parent__ is None and child.__name__ is None and len(folder) == 0
    with pytest.raises(KeyError):
        folder["a"]
    with pytest.raises(FolderKeyError):
        folder.remove("a")


@pytest.mark.parametrize("name", ["", "a/b", "@@view", None])
def test_folder_refuses_names_traversal_could_not_reach(name):
    with pytest.raises(ValueError):
        Folder().add(name, Folder())


def test_folder_page_walks_in_key_order():
    folder = Folder()
    for i in range(30):
        folder.add(f"n{i:02d}", Folder())
    assert [c.__name__ for c in folder.page(10, 5)] == ["n10", "n11", "n12", "n13", "n14"]
    assert folder.page(28, 5)[-1].__name__ == "n29" and len(folder.page(28, 5)) == 2


def test_site_has_its_fixed_children(site):
    assert site["orgs"].__parent__ is site and site["users"].__name__ == "users"
    assert len(site.audit) == 0


def test_organisation_gets_mailbox_folders(site):
    org = site.orgs.register("1234567", "Шинэ байгууллага", "government")
    assert isinstance(org, Organisation)
    assert set(org.keys()) == {"inbox", "outbox", "handovers"}
    assert org["inbox"].__parent__ is org


@pytest.mark.parametrize("regno", ["123456", "12345678", "12a4567", "", "１２３４５６７", " 123 4567"])
def test_registration_number_must_be_seven_digits(site, regno):
    with pytest.raises(RegistryError) as info:
        site.orgs.register(regno, "Нэр", "government")
    assert info.value.code == "INVALID_REGNO" and len(site.orgs) == 0


def test_registration_number_is_unique(site):
    site.orgs.register("1234567", "Нэг", "government")
    with pytest.raises(Conflict) as info:
        site.orgs.register("1234567", "Хоёр", "business")
    assert info.value.code == "DUPLICATE_REGNO"
    assert site.orgs["1234567"].name == "Нэг"


def test_kind_and_name_are_checked(site):
    with pytest.raises(RegistryError) as info:
        site.orgs.register("1234567", "Нэр", "ngo")
    assert info.value.code == "INVALID_KIND"
    with pytest.raises(RegistryError) as info:
        site.orgs.register("1234567", "   ", "government")
    assert info.value.code == "NAME_REQUIRED"


def test_parent_must_exist_and_never_form_a_cycle(site):
    with pytest.raises(NotFound):
        site.orgs.register("1234567", "Нэгж", "government", parent="7654321")
    site.orgs.register("1000001", "Эх", "government")
    child = site.orgs.register("1000002", "Нэгж", "government", parent="1000001")
    grandchild = site.orgs.register("1000003", "Дэд нэгж", "government", parent="1000002")
    assert [o.regno for o in site.orgs.sub_units("1000001")] == ["1000002"]
    with pytest.raises(RegistryError) as info:
        site.orgs.update(site.orgs["1000001"], parent="1000003")
    assert info.value.code == "PARENT_CYCLE"
    with pytest.raises(RegistryError):
        site.orgs.update(child, parent="1000002")
    assert grandchild.parent_regno == "1000002"


@pytest.fixture
def directory(site):
    orgs = site.orgs
    orgs.register("1000001", "Баянзүрх дүүргийн Засаг даргын Тамгын газар", "government",
                  name_en="Bayanzurkh District Governor's Office")
    orgs.register("1000002", "Баянзүрх дүүргийн 1 дүгээр хорооны Өрхийн эрүүл мэндийн төв",
                  "government")
    orgs.register("1000003", "Сонгинохайрхан дүүргийн Эрүүл мэндийн төв", "government")
    orgs.register("2000001", "Өгөөж хүнс ХХК", "business")
    orgs.register("2000002", "Улаанбаатар хотын Нийтийн тээврийн газар", "government")
    return orgs


def regnos(result):
    return [o.regno for o in result[0]]


def test_search_matches_word_prefixes_in_any_order(directory):
    assert regnos(directory.search("баянз")) == ["1000001", "1000002"]
    assert regnos(directory.search("эрүүл сонгино")) == ["1000003"]
    assert set(regnos(directory.search("эрүүл мэнд"))) == {"1000002", "1000003"}
    assert regnos(directory.search("мэндийн баянзүрх")) == ["1000002"]


def test_search_folds_case_including_mongolian_letters(directory):
    assert regnos(directory.search("ӨГӨӨЖ")) == ["2000001"]
    assert regnos(directory.search("өгөөж")) == ["2000001"]


def test_search_by_latin_transliteration_and_english_name(directory):
    assert regnos(directory.search("ulaanbaatar")) == ["2000002"]
    assert regnos(directory.search("songinokhairkhan")) == ["1000003"]
    assert regnos(directory.search("governor")) == ["1000001"]


def test_search_by_registration_number_prefix(directory):
    assert regnos(directory.search("20000")) == ["2000001", "2000002"]
    assert regnos(directory.search("1000003")) == ["1000003"]


def test_search_pages_and_counts(directory):
    first, more, total = directory.search("", start=0, size=2, count=True)
    assert [o.regno for o in first] == ["1000001", "1000002"] and more and total == 5
    last, more, _ = directory.search("", start=4, size=2)
    assert [o.regno for o in last] == ["2000002"] and not more
    assert directory.search("нэмэлтүг")[0] == []


def test_deactivated_organisations_are_hidden_unless_asked(directory):
    directory.update(directory["2000001"], active=False)
    assert regnos(directory.search("өгөөж")) == []
    assert regnos(directory.search("өгөөж", include_inactive=True)) == ["2000001"]


def test_renaming_reindexes(directory):
    changed = directory.update(directory["2000001"], name="Шинэ нэр ХХК")
    assert changed == {"name": ("Өгөөж хүнс ХХК", "Шинэ нэр ХХК")}
    assert regnos(directory.search("өгөөж")) == []
    assert regnos(directory.search("шинэ")) == ["2000001"]
    assert directory.update(directory["2000001"], name="Шинэ нэр ХХК") == {}


def test_counting_stops_at_the_limit(directory):
    _orgs, more, total = directory.search("дүүргийн", size=1, count=True)
    assert total == 3 and more
    _orgs, more, total = directory.search("дүүргийн", size=1, count=True, count_limit=2)
    assert total == 2 and more


def test_whole_directory_total_needs_no_scan(directory):
    directory.update(directory["2000001"], active=False)
    assert directory.search("", size=2, count=True)[2] == 4
    assert directory.search("", size=2, include_inactive=True)[2] == 5

"""`registry user add --email` and `registry notify digest` (for cron), against a real SMTP
server on 127.0.0.1."""
import pytest
import ZODB
from click.testing import CliRunner
from ZODB.FileStorage import FileStorage

from registry.cli import main
from registry.store import site_of
from test_mail import smtp  # noqa: F401 (the SMTP server on 127.0.0.1, a fixture)

INI = """[app:main]
use = egg:registry
mail.host = 127.0.0.1
mail.port = {port}
mail.default_sender = registry@example.mn
registry.public_url = https://registry.example.mn
registry.notify.digest_hour = off
search.writer = off
"""


@pytest.fixture
def run(tmp_path, smtp):
    ini = tmp_path / "mail.ini"
    ini.write_text(INI.format(port=smtp.port))
    runner = CliRunner()

    def invoke(*args, stdin=None, config=str(ini)):
        return runner.invoke(main, ["-c", config, "--data-dir", str(tmp_path / "var"), *args],
                             input=stdin, catch_exceptions=False)

    assert invoke("init").exit_code == 0
    assert invoke("org", "add", "--regno", "1000001", "--name", "Нийслэлийн Засаг даргын "
                  "Тамгын газар", "--kind", "government").exit_code == 0
    return invoke


def read_user(tmp_path, login):
    db = ZODB.DB(FileStorage(str(tmp_path / "var" / "Data.fs"),
                             blob_dir=str(tmp_path / "var" / "blobs")))
    try:
        with db.transaction() as conn:
            user = site_of(conn).users[login]
            return user.email, user.mail_mode, user.language
    finally:
        db.close()


def test_user_add_takes_an_email_a_mail_mode_and_a_language(run, tmp_path):
    result = run("user", "add", "--org", "1000001", "--login", "bold", "--role", "clerk",
                 "--email", "bold@example.mn", "--mail", "digest", "--language", "en",
                 "--password-stdin", stdin="a-long-password\n")
    assert result.exit_code == 0, result.output
    assert read_user(tmp_path, "bold") == ("bold@example.mn", "digest", "en")
    refused = run("user", "add", "--org", "1000001", "--login", "dorj", "--role", "clerk",
                  "--email", "not an address", "--password-stdin", stdin="a-long-password\n")
    assert refused.exit_code == 1 and "INVALID_EMAIL" in refused.output
    with pytest.raises(KeyError):
        read_user(tmp_path, "dorj")  # nothing of a refused account remains


def test_notify_digest_goes_once_a_day(run, smtp, tmp_path):
    from datetime import datetime, timezone

    run("user", "add", "--org", "1000001", "--login", "bold", "--role", "records_manager",
        "--email", "bold@example.mn", "--mail", "digest", "--password-stdin",
        stdin="a-long-password\n")
    db = ZODB.DB(FileStorage(str(tmp_path / "var" / "Data.fs"),
                             blob_dir=str(tmp_path / "var" / "blobs")))
    try:
        with db.transaction() as conn:
            site = site_of(conn)
            site.notifications.box("bold", create=True).add(
                "letter_registered", "/orgs/1000001/", {"number": "01/7", "org": "ХХК"},
                "rm_b", datetime.now(timezone.utc))
    finally:
        db.close()
    first = run("notify", "digest")
    assert first.exit_code == 0 and "1 mail(s)" in first.output, first.output
    [(to, message)] = smtp.messages
    assert to == ["bold@example.mn"] and "01/7" in message.get_content()
    again = run("notify", "digest")
    assert again.exit_code == 0 and "went out already" in again.output
    assert len(smtp.messages) == 1
    forced = run("notify", "digest", "--force")
    assert forced.exit_code == 0 and "0 mail(s)" in forced.output  # nothing new since


def test_notify_digest_says_when_mail_is_off(run, tmp_path):
    off = tmp_path / "off.ini"
    off.write_text("[app:main]\nuse = egg:registry\n")
    result = run("notify", "digest", config=str(off))
    assert result.exit_code == 1 and "MAIL_OFF" in result.output


def test_notify_due_runs_the_deadline_check_and_records_its_day(run, tmp_path):
    from registry.settings import local_today

    result = run("notify", "due")
    today = local_today({}).isoformat()
    assert result.exit_code == 0, result.output
    assert result.output == (f"Deadline check of {today}: 0 task(s) due soon, 0 overdue, "
                             "told to their executors.\n")
    db = ZODB.DB(FileStorage(str(tmp_path / "var" / "Data.fs"),
                             blob_dir=str(tmp_path / "var" / "blobs")))
    try:
        with db.transaction() as conn:
            site = site_of(conn)
            assert site.notifications.due_checked_day == today
            records, _total = site.audit.newest(0, 1)
            assert (records[0].action, records[0].detail) == (
                "notify.due", {"day": today, "due_soon": 0, "overdue": 0})
    finally:
        db.close()

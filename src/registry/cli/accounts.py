"""Organisations, accounts, API tokens and the working-day calendar: `registry org`,
`registry user`, `registry token`, `registry calendar`."""
import json

import click

from registry import settings as registry_settings
from registry import workdays
from registry.accounts import create_account, issue_token, set_password, update_preferences
from registry.cli.base import actor, main, org_of, pass_ctx, read_password
from registry.directory import register_organisation, update_organisation


# organisations -----------------------------------------------------------------------------

@main.group()
def org():
    """Organisations in the directory."""


@org.command("add")
@click.option("--regno", required=True, help="State registration number (7 digits).")
@click.option("--name", required=True, help="Name in Mongolian.")
@click.option("--name-en", default="", help="Name in English.")
@click.option("--kind", required=True, type=click.Choice(["government", "business"]))
@click.option("--parent", default=None, metavar="REGNO", help="Parent organisation.")
@pass_ctx
def org_add(ctx, regno, name, name_en, kind, parent):
    """Register an organisation."""
    org = ctx.run(lambda site: register_organisation(site, actor(), regno, name, kind,
                                                     name_en=name_en, parent=parent).regno)
    click.echo(f"Registered {org}.")


@org.command("suspend")
@click.argument("regno")
@click.option("--lift", is_flag=True, help="Lift the suspension instead.")
@pass_ctx
def org_suspend(ctx, regno, lift):
    """Suspend an organisation (its accounts cannot sign in, so it sends nothing), or lift
    the suspension; audited."""
    ctx.run(lambda site: update_organisation(site, actor(), org_of(site, regno), active=lift))
    click.echo(f"{'Lifted the suspension of' if lift else 'Suspended'} {regno}.")


@org.command("list")
@click.option("-q", "--query", default="", help="Name words or registration number prefix.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000))
@click.option("--inactive", is_flag=True, help="Include deactivated organisations.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def org_list(ctx, query, limit, inactive, as_json):
    """List or search the directory."""

    def find(site):
        orgs, more, total = site.orgs.search(query, size=limit, include_inactive=inactive,
                                             count=True)
        return [o.as_json() for o in orgs], more, total

    rows, more, total = ctx.run(find)
    if as_json:
        click.echo(json.dumps({"items": rows, "items_total": total}, ensure_ascii=False,
                              indent=1))
        return
    for row in rows:
        flag = "" if row["active"] else "  (deactivated)"
        click.echo(f"{row['regno']}  {row['kind']:<10}  {row['name']}{flag}")
    if more:
        click.echo(f"... {total} in all; use --limit to see more", err=True)


# accounts ----------------------------------------------------------------------------------

def _roles(value):
    return [r.strip() for r in value.split(",") if r.strip()]


@main.group()
def user():
    """Accounts."""


@user.command("add")
@click.option("--org", "regno", required=True, metavar="REGNO", help="The account's organisation.")
@click.option("--login", required=True)
@click.option("--role", "roles", required=True, metavar="ROLE[,ROLE]",
              help="records_manager, signatory, clerk, auditor, executor, site_admin.")
@click.option("--name", "fullname", default="", help="Full name.")
@click.option("--position", default="", help="Position (shown beside the name on the desk).")
@click.option("--email", default="", help="Where notifications are mailed.")
@click.option("--mail", "mail_mode", type=click.Choice(["immediate", "digest", "none"]),
              default="immediate", show_default=True, help="Mail each notification at once, "
              "once a day in a digest, or not at all.")
@click.option("--language", type=click.Choice(["mn", "en"]), default=None,
              help="The language of the account's mails (default: the registry's).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_ctx
def user_add(ctx, regno, login, roles, fullname, position, email, mail_mode, language, password_stdin):
    """Create an account."""
    password = read_password(password_stdin)
    limits = registry_settings.account_limits(ctx.settings)

    def add(site):
        user = create_account(site, actor(), regno, login, _roles(roles), password,
                              fullname=fullname, limits=limits, may_grant_admin=True,
                              position=position)
        update_preferences(site, actor(), user, email=email, mail_mode=mail_mode,
                           language=language or "")
        return user.login

    created = ctx.run(add)
    click.echo(f"Created account {created}.")


@user.command("passwd")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_ctx
def user_passwd(ctx, login, password_stdin):
    """Set an account's password (its sessions end)."""
    password = read_password(password_stdin)
    ctx.run(lambda site: set_password(site, actor(), site.users.require(login), password))
    click.echo(f"Password of {login} set.")


@user.command("list")
@click.option("--org", "regno", default=None, metavar="REGNO")
@pass_ctx
def user_list(ctx, regno):
    """List accounts (of one organisation with --org)."""

    def rows(site):
        users = site.users.for_org(regno) if regno else list(site.users.values())
        return [(u.login, u.org, ",".join(u.roles), u.active) for u in users]

    for login, org_regno, roles, active in ctx.run(rows):
        click.echo(f"{login:<20} {org_regno}  {roles}{'' if active else '  (deactivated)'}")


@main.group()
def token():
    """API tokens."""


@token.command("create")
@click.option("--login", required=True)
@click.option("--label", default="", help="What the token is for.")
@pass_ctx
def token_create(ctx, login, label):
    """Create an API token; print it alone, once."""
    secret = ctx.run(lambda site: issue_token(site, actor(), site.users.require(login), label))
    click.echo(secret)


# the working-day calendar -------------------------------------------------------------------

@main.group()
def calendar():
    """The working-day calendar: public holidays and declared days off or working days."""


@calendar.command("show")
@click.option("--year", type=int, default=None, help="The year (default: this year).")
@pass_ctx
def calendar_show(ctx, year):
    """List the year's public holidays and the days declared off or working."""
    year = year or registry_settings.local_today(ctx.settings).year
    for day, name in sorted(workdays.public_holidays(year).items()):
        click.echo(f"{day}  holiday  {name}")
    for day, kind, note in ctx.run(lambda site: site.calendar.changes(year)):
        click.echo(f"{day}  {kind:<8} {note}")


@calendar.command("declare")
@click.argument("day")
@click.argument("kind", type=click.Choice(["off", "working"]))
@click.option("--note", required=True, help="Why (the government resolution).")
@pass_ctx
def calendar_declare(ctx, day, kind, note):
    """Declare DAY (YYYY-MM-DD) a day off or a working day; audited."""
    done = ctx.run(lambda site: workdays.declare(site, actor(), day, kind, note))
    click.echo(f"{done} is now a {'day off' if kind == 'off' else 'working day'}.")


@calendar.command("clear")
@click.argument("day")
@pass_ctx
def calendar_clear(ctx, day):
    """Forget what was declared for DAY; audited."""
    done = ctx.run(lambda site: workdays.clear(site, actor(), day))
    click.echo(f"{done}: nothing declared any more.")

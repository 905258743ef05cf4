"""Changes to the directory of organisations, each validated and audited.

The UI, the JSON API, the CLI and the demo data all change organisations through these
functions, so each change is checked the same way and leaves one audit record.
"""


def register_organisation(site, actor, regno, name, kind, name_en="", parent=None):
    """Register an organisation and audit it; return it. Raises RegistryError subclasses."""
    org = site.orgs.register(regno, name, kind, name_en=name_en, parent=parent)
    site.audit.append(actor, "org.register", target=f"/orgs/{org.regno}", org=org.regno,
                      detail={"name": org.name, "kind": org.kind, "parent": org.parent_regno})
    return org


def update_organisation(site, actor, org, **changes):
    """Apply `changes` to `org` and audit them; return {field: (old, new)}."""
    changed = site.orgs.update(org, **changes)
    if changed:
        site.audit.append(actor, "org.update", target=f"/orgs/{org.regno}", org=org.regno,
                          detail={k: [old, new] for k, (old, new) in changed.items()})
    return changed

"""The XML of a package, written as text fragments so that 100,000 letters stream through
bounded memory: METS (E-ARK CSIP/SIP), PREMIS 3 and CITS ERMS v3.

Each function returns a `str` (one fragment, or a document's head or tail); `package.py`
writes fragments to spool files as letters pass and joins them in schema order at the end.
All text goes through `text()` / `attr()`, which drop characters XML 1.0 cannot carry and
escape the rest.
"""
import re
from datetime import date, datetime, time, timezone

METS_NS = "http://www.loc.gov/METS/"
XLINK_NS = "http://www.w3.org/1999/xlink"
CSIP_NS = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"
SIP_NS = "https://DILCIS.eu/XML/METS/SIPExtensionMETS"
PREMIS_NS = "http://www.loc.gov/premis/v3"
ERMS_NS = "https://DILCIS.eu/XML/ERMS"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
REGISTRY_NS = "urn:x-registry:archive:1"

#: Schema files shipped in `schemas/` (from registry/archive/schemas).
SCHEMA_FILES = ("mets.xsd", "xlink.xsd", "DILCISExtensionMETS.xsd", "DILCISExtensionSIPMETS.xsd",
                "premis-v3-0.xsd", "ERMS_v3.xsd", "catalog.xml")

CONTENT_CATEGORY = "Textual works \u2013 Digital"
CONTENT_INFORMATION_TYPE = "citserms_v3_0"

# PRONOM identifiers of the PDF versions a letter may be written in.
PDF_PRONOM = {"1.0": "fmt/14", "1.1": "fmt/15", "1.2": "fmt/16", "1.3": "fmt/17",
              "1.4": "fmt/18", "1.5": "fmt/19", "1.6": "fmt/20", "1.7": "fmt/276",
              "2.0": "fmt/1129"}

_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def text(value):
    """`value` as XML character data."""
    value = str(value)
    if not value.isprintable():  # printable text has nothing XML 1.0 forbids
        value = _INVALID_XML.sub("\ufffd", value)
    if "&" in value or "<" in value or ">" in value:
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


def attr(value):
    """`value` as the content of a double-quoted XML attribute."""
    return (text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
            .replace("\t", "&#9;"))


def ts(value):
    """An xs:dateTime for a datetime (naive = UTC) or a date (midnight UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=timezone.utc).isoformat()
    raise TypeError(f"not a date or datetime: {value!r}")


def profile_url(version):
    """The E-ARK SIP METS profile URL for a specification version: unversioned up to 2.1.x
    (as the 2.x profiles name themselves), versioned from 2.2.0 on."""
    parts = tuple(int(p) for p in version.split("."))
    if parts < (2, 2):
        return "https://earksip.dilcis.eu/profile/E-ARK-SIP.xml"
    return f"https://earksip.dilcis.eu/profile/E-ARK-SIP-v{version.replace('.', '-')}.xml"


def _el(name, value, **attrs):
    inner = "".join(f' {k.replace("__", ":")}="{attr(v)}"' for k, v in attrs.items()
                    if v is not None)
    return f"<{name}{inner}>{text(value)}</{name}>"


# --------------------------------------------------------------------------------------------
# METS
# --------------------------------------------------------------------------------------------
def _schema_location(prefix):
    return " ".join([
        METS_NS, f"{prefix}schemas/mets.xsd", XLINK_NS, f"{prefix}schemas/xlink.xsd",
        CSIP_NS, f"{prefix}schemas/DILCISExtensionMETS.xsd",
        SIP_NS, f"{prefix}schemas/DILCISExtensionSIPMETS.xsd"])


def mets_head(objid, label, spec, schema_prefix):
    """`<mets>` with `<metsHdr>` for the package (`objid` = package id) or a representation."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<mets:mets xmlns:mets="{METS_NS}" xmlns:xlink="{XLINK_NS}" xmlns:csip="{CSIP_NS}"'
        f' xmlns:sip="{SIP_NS}" xmlns:xsi="{XSI_NS}"'
        f' xsi:schemaLocation="{attr(_schema_location(schema_prefix))}"'
        f' OBJID="{attr(objid)}" LABEL="{attr(label)}" TYPE="{attr(CONTENT_CATEGORY)}"'
        f' csip:CONTENTINFORMATIONTYPE="{CONTENT_INFORMATION_TYPE}"'
        f' PROFILE="{attr(profile_url(spec.profile_version))}">\n')


def mets_header(spec, full):
    """`<metsHdr>`: the software that made the package (CSIP); with `full`, also the archival
    creator, the submitting organisation, the contact person, the archive (E-ARK SIP agents)
    and the handover act and fond/inventory reference as `altRecordID`s."""
    name, version = spec.software
    created = ts(spec.created)
    out = [f'<mets:metsHdr CREATEDATE="{created}" LASTMODDATE="{created}"'
           f' RECORDSTATUS="{attr(spec.record_status)}" csip:OAISPACKAGETYPE="SIP">\n',
           '<mets:agent ROLE="CREATOR" TYPE="OTHER" OTHERTYPE="SOFTWARE">'
           f'<mets:name>{text(name)}</mets:name>'
           f'<mets:note csip:NOTETYPE="SOFTWARE VERSION">{text(version)}</mets:note>'
           '</mets:agent>\n']
    if full:
        org = spec.org
        out += [
            '<mets:agent ROLE="ARCHIVIST" TYPE="ORGANIZATION">'
            f'<mets:name>{text(org.name)}</mets:name>'
            f'<mets:note csip:NOTETYPE="IDENTIFICATIONCODE">{text(org.regno)}</mets:note>'
            '</mets:agent>\n',
            '<mets:agent ROLE="CREATOR" TYPE="ORGANIZATION">'
            f'<mets:name>{text(org.name)}</mets:name>'
            f'<mets:note csip:NOTETYPE="IDENTIFICATIONCODE">{text(org.regno)}</mets:note>'
            '</mets:agent>\n',
            '<mets:agent ROLE="CREATOR" TYPE="INDIVIDUAL">'
            f'<mets:name>{text(spec.made_by)}</mets:name></mets:agent>\n',
            '<mets:agent ROLE="PRESERVATION" TYPE="ORGANIZATION">'
            f'<mets:name>{text(spec.archive_name)}</mets:name></mets:agent>\n',
            f'<mets:altRecordID TYPE="SUBMISSIONAGREEMENT">'
            f'{text(act_reference(spec))}</mets:altRecordID>\n',
            f'<mets:altRecordID TYPE="REFERENCECODE">'
            f'{text(reference_code(spec))}</mets:altRecordID>\n',
        ]
    out.append("</mets:metsHdr>\n")
    return "".join(out)


def act_reference(spec):
    """The handover act as it is cited: "<number>; <YYYY-MM-DD>"."""
    return f"{spec.act_number}; {spec.act_date.isoformat()}"


def reference_code(spec):
    """The archive's reference for the package: "<fond>/<inventory>"."""
    return f"{spec.fond_reference}/{spec.inventory_reference}"


def md_ref(tag, ident, href, info, mdtype, created, othermdtype=None, mimetype="application/xml"):
    """A `<dmdSec>` or `<digiprovMD>` pointing at a metadata file with its size and SHA-256.
    `info` is (sha256, size)."""
    digest, size = info
    other = f' OTHERMDTYPE="{attr(othermdtype)}"' if othermdtype else ""
    created = ts(created)
    created_attr = f' CREATED="{created}"' if tag == "dmdSec" else ""
    return (f'<mets:{tag} ID="{ident}"{created_attr} STATUS="CURRENT">'
            f'<mets:mdRef LOCTYPE="URL" xlink:type="simple" xlink:href="{attr(href)}"'
            f' MDTYPE="{mdtype}"{other} MIMETYPE="{mimetype}" SIZE="{size}" CREATED="{created}"'
            f' CHECKSUM="{digest}" CHECKSUMTYPE="SHA-256"/></mets:{tag}>\n')


def mets_file(ident, href, info, mimetype, created, admid=None, pdf_version=None):
    """A `<file>` with MIME type, size, creation time, SHA-256 and (for PDFs) its format."""
    digest, size = info
    extra = f' ADMID="{admid}"' if admid else ""
    if mimetype == "application/pdf":
        extra += ' sip:FILEFORMATNAME="Portable Document Format"'
        if pdf_version:
            extra += f' sip:FILEFORMATVERSION="{attr(pdf_version)}"'
            if pdf_version in PDF_PRONOM:
                extra += (f' sip:FORMATREGISTRY="PRONOM"'
                          f' sip:FORMATREGISTRYKEY="{PDF_PRONOM[pdf_version]}"')
    return (f'<mets:file ID="{ident}" MIMETYPE="{mimetype}" SIZE="{size}"'
            f' CREATED="{ts(created)}" CHECKSUM="{digest}" CHECKSUMTYPE="SHA-256"{extra}>'
            f'<mets:FLocat LOCTYPE="URL" xlink:type="simple" xlink:href="{attr(href)}"/>'
            '</mets:file>\n')


def file_group(ident, use, files, representation=False):
    extra = f' csip:CONTENTINFORMATIONTYPE="{CONTENT_INFORMATION_TYPE}"' if representation else ""
    return (f'<mets:fileGrp ID="{ident}" USE="{attr(use)}"{extra}>\n{"".join(files)}'
            "</mets:fileGrp>\n")


# --------------------------------------------------------------------------------------------
# PREMIS 3
# --------------------------------------------------------------------------------------------
def premis_head(schema_prefix):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<premis:premis xmlns:premis="{PREMIS_NS}" xmlns:xsi="{XSI_NS}"'
            f' xsi:schemaLocation="{PREMIS_NS} {schema_prefix}schemas/premis-v3-0.xsd"'
            ' version="3.0">\n')


PREMIS_TAIL = "</premis:premis>\n"


def _identifier(kind, id_type, value):
    return (f"<premis:{kind}Identifier><premis:{kind}IdentifierType>{text(id_type)}"
            f"</premis:{kind}IdentifierType><premis:{kind}IdentifierValue>{text(value)}"
            f"</premis:{kind}IdentifierValue></premis:{kind}Identifier>")


def premis_file_object(path, info, format_name, format_version=None, pronom=None,
                       original_name=None, other_ids=(), events=()):
    """A PREMIS file object: identifier (its path in the package), SHA-256 fixity, size,
    format (name, version, PRONOM key), original name, storage and linked events."""
    digest, size = info
    ids = _identifier("object", "local", path) + "".join(
        _identifier("object", t, v) for t, v in other_ids)
    fmt = "<premis:formatDesignation>" + _el("premis:formatName", format_name)
    if format_version:
        fmt += _el("premis:formatVersion", format_version)
    fmt += "</premis:formatDesignation>"
    if pronom:
        fmt += ("<premis:formatRegistry><premis:formatRegistryName>PRONOM"
                f"</premis:formatRegistryName>{_el('premis:formatRegistryKey', pronom)}"
                "<premis:formatRegistryRole>specification</premis:formatRegistryRole>"
                "</premis:formatRegistry>")
    original = _el("premis:originalName", original_name) if original_name else ""
    links = "".join(
        "<premis:linkingEventIdentifier>"
        f"<premis:linkingEventIdentifierType>local</premis:linkingEventIdentifierType>"
        f"<premis:linkingEventIdentifierValue>{text(e)}</premis:linkingEventIdentifierValue>"
        "</premis:linkingEventIdentifier>" for e in events)
    return (f'<premis:object xsi:type="premis:file">{ids}'
            "<premis:objectCharacteristics><premis:compositionLevel>0</premis:compositionLevel>"
            "<premis:fixity><premis:messageDigestAlgorithm>SHA-256</premis:messageDigestAlgorithm>"
            f"<premis:messageDigest>{digest}</premis:messageDigest></premis:fixity>"
            f"<premis:size>{size}</premis:size><premis:format>{fmt}</premis:format>"
            f"</premis:objectCharacteristics>{original}"
            "<premis:storage><premis:contentLocation>"
            "<premis:contentLocationType>URL</premis:contentLocationType>"
            f"<premis:contentLocationValue>{text(path)}</premis:contentLocationValue>"
            f"</premis:contentLocation></premis:storage>{links}</premis:object>\n")


def premis_representation_object(ident, name, events=()):
    """A PREMIS representation object (the letters' folder), with its linked events."""
    links = "".join(
        "<premis:linkingEventIdentifier>"
        "<premis:linkingEventIdentifierType>local</premis:linkingEventIdentifierType>"
        f"<premis:linkingEventIdentifierValue>{text(e)}</premis:linkingEventIdentifierValue>"
        "</premis:linkingEventIdentifier>" for e in events)
    return (f'<premis:object xsi:type="premis:representation">'
            f'{_identifier("object", "local", ident)}{_el("premis:originalName", name)}'
            f'{links}</premis:object>\n')


def premis_event(ident, event_type, when, detail, outcome, notes=(), agents=(), objects=()):
    """A PREMIS event. `agents`: (agent id, role); `objects`: (object id, role)."""
    outcome_details = "".join(
        "<premis:eventOutcomeDetail>"
        f"{_el('premis:eventOutcomeDetailNote', note)}</premis:eventOutcomeDetail>"
        for note in notes)
    agent_links = "".join(
        "<premis:linkingAgentIdentifier>"
        "<premis:linkingAgentIdentifierType>local</premis:linkingAgentIdentifierType>"
        f"{_el('premis:linkingAgentIdentifierValue', a)}{_el('premis:linkingAgentRole', r)}"
        "</premis:linkingAgentIdentifier>" for a, r in agents)
    object_links = "".join(
        "<premis:linkingObjectIdentifier>"
        "<premis:linkingObjectIdentifierType>local</premis:linkingObjectIdentifierType>"
        f"{_el('premis:linkingObjectIdentifierValue', o)}{_el('premis:linkingObjectRole', r)}"
        "</premis:linkingObjectIdentifier>" for o, r in objects)
    return (f"<premis:event>{_identifier('event', 'local', ident)}"
            f"{_el('premis:eventType', event_type)}{_el('premis:eventDateTime', ts(when))}"
            "<premis:eventDetailInformation>"
            f"{_el('premis:eventDetail', detail)}</premis:eventDetailInformation>"
            f"<premis:eventOutcomeInformation>{_el('premis:eventOutcome', outcome)}"
            f"{outcome_details}</premis:eventOutcomeInformation>"
            f"{agent_links}{object_links}</premis:event>\n")


def premis_agent(ident, name, agent_type, version=None, note=None, other_ids=()):
    ids = _identifier("agent", "local", ident) + "".join(
        _identifier("agent", t, v) for t, v in other_ids)
    extra = _el("premis:agentVersion", version) if version else ""
    extra += _el("premis:agentNote", note) if note else ""
    return (f"<premis:agent>{ids}{_el('premis:agentName', name)}"
            f"{_el('premis:agentType', agent_type)}{extra}</premis:agent>\n")


def premis_agents(spec):
    """The three agents every PREMIS file of the package names: the software, the handing-over
    organisation and the archive."""
    name, version = spec.software
    return (premis_agent("agent-software", name, "software", version=version)
            + premis_agent("agent-organisation", spec.org.name, "organization",
                           other_ids=(("regno", spec.org.regno),))
            + premis_agent("agent-archive", spec.archive_name, "organization",
                           note=f"fond/inventory {reference_code(spec)}"))


# --------------------------------------------------------------------------------------------
# CITS ERMS v3
# --------------------------------------------------------------------------------------------
def erms_head(spec, schema_prefix):
    org = spec.org
    scope = f"{org.name}, {spec.year}" + (f", series {spec.series}" if spec.series else "")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<erms xmlns="{ERMS_NS}" xmlns:xsi="{XSI_NS}" xmlns:reg="{REGISTRY_NS}"'
        f' xsi:schemaLocation="{ERMS_NS} {schema_prefix}schemas/ERMS_v3.xsd">\n'
        "<control>"
        f'{_el("identification", spec.package_id, identificationType="package")}'
        f'{_el("identification", act_reference(spec), identificationType="handover act")}'
        f'{_el("identification", reference_code(spec), identificationType="fond/inventory")}'
        '<classificationSchema classificationSchemaId="fileplan"'
        ' classificationSchemaStatus="current"><textualDescriptionOfClassificationSchema>'
        f'{_el("p", "File plan (series) of " + scope)}'
        "</textualDescriptionOfClassificationSchema></classificationSchema>"
        "<maintenanceInformation>"
        '<maintenanceStatus value="created"/>'
        "<maintenanceAgency>"
        f'{_el("agencyCode", org.regno, type="regno")}{_el("agencyName", org.name)}'
        "</maintenanceAgency>"
        '<maintenanceHistory><maintenanceEvent><eventType value="created"/>'
        f'{_el("eventDateTime", ts(spec.created))}'
        f'<agent agentType="creator">{_el("name", spec.made_by)}'
        f'{_el("organisation", org.name)}</agent>'
        "</maintenanceEvent></maintenanceHistory>"
        "</maintenanceInformation></control>\n<records>\n")


ERMS_TAIL = "</records>\n</erms>\n"


def _erms_agent(agent_type, name, regno=None, organisation=None, role=None):
    parts = _el("name", name)
    if organisation:
        parts += _el("organisation", organisation)
    if regno:
        parts += _el("idNumber", regno, idNumberType="regno")
    if role:
        parts += _el("role", role)
    return f'<agent agentType="{agent_type}">{parts}</agent>'


def _retention(entry, year):
    """The `<disposal>` of a letter from its series' retention class."""
    start = ts(date(year, 1, 1))
    if entry.retention == "permanent":
        return ('<disposal disposable="false">'
                "<disposalAction>permanent retention; transfer to the state archive"
                "</disposalAction><disposalPeriod>permanent</disposalPeriod>"
                f'<dates><disposalDate dateType="retention_period_start">{start}</disposalDate>'
                "</dates></disposal>")
    years = int(entry.retention.split(":", 1)[1])
    end = ts(datetime(year + years, 12, 31, 23, 59, 59, tzinfo=timezone.utc))
    return ('<disposal disposable="true"><disposalAction>destroy after the retention period'
            f"</disposalAction><disposalPeriod>P{years}Y</disposalPeriod>"
            f'<dates><disposalDate dateType="retention_period_start">{start}</disposalDate>'
            f'<disposalDate dateType="retention_period_end">{end}</disposalDate>'
            "</dates></disposal>")


def erms_record(entry, year, package_path, signing_time):
    """One letter as an ERMS `<record>`: numbers, series, title, retention, direction,
    sender/recipients/signatory, dates, workflow actions, registry state and every signature
    check (present, verification date, the checks themselves)."""
    out = [f'<record systemIdentifier="{attr(entry.key)}" recordType="letter"'
           ' recordPhysicalOrDigital="digital">',
           _el("objectId", entry.key)]
    if entry.outgoing_number:
        out.append(_el("extraId", entry.outgoing_number, extraIdType="outgoing number"))
    if entry.incoming_number:
        out.append(_el("extraId", entry.incoming_number, extraIdType="incoming number"))
    out.append(_el("extraId", package_path, extraIdType="file in package"))
    out.append(_el("classification", entry.series_title, classificationCode=entry.series,
                   fullyQualifiedClassificationCode=f"{year}/{entry.series}"))
    out.append(_el("title", entry.subject))
    out.append(_retention(entry, year))
    out.append(f'<direction directionDefinition="{attr(entry.direction)}"/>')
    agents = [_erms_agent("sender", entry.sender.name, entry.sender.regno)]
    agents += [_erms_agent("recipient", r.name, r.regno) for r in entry.recipients]
    agents.append(_erms_agent("main_signatory", entry.signatory, entry.signatory_regno,
                              organisation=entry.sender.name))
    out.append(f"<agents>{''.join(agents)}</agents>")
    dates = [_el("date", ts(entry.created), dateType="created")]
    if signing_time:
        dates.append(_el("date", ts(signing_time), dateType="main_signature"))
    if entry.sent:
        dates.append(_el("date", ts(entry.sent), dateType="sent"))
    if entry.registered:
        dates.append(_el("date", ts(entry.registered), dateType="other",
                         otherDateType="registered"))
    out.append(f"<dates>{''.join(dates)}</dates>")
    for action in entry.actions:
        label = f"{action.action}: {action.from_state} \u2192 {action.to_state}"
        if action.comment:
            label += f" ({action.comment})"
        out.append(
            f"<action>{_el('actionText', label)}{_el('actionType', action.action)}"
            "<dates>" + _el("actionDate", ts(action.time), dateType="other",
                            otherDateType="performed") +
            f"</dates><agents>{_erms_agent('responsible_person', action.actor)}</agents>"
            "</action>")
    out.append(f"<notes>{_el('note', entry.state, noteType='registry state')}</notes>")
    present = any(check.signer for check in entry.checks)
    verified = ""
    if entry.checks:
        verified = f' dateeSignatureIsVerified="{ts(entry.checks[-1].time)}"'
    checks = "".join(
        f'<reg:check context="{attr(c.context)}" time="{ts(c.time)}"'
        f' accepted="{"true" if c.accepted else "false"}"'
        f' reasons="{attr(" ".join(c.reasons))}" signer="{attr(c.signer or "")}"'
        f' signerRegno="{attr(c.signer_regno or "")}" issuer="{attr(c.issuer or "")}"'
        f' serial="{attr(c.serial or "")}"'
        + (f' signingTime="{ts(c.signing_time)}"' if c.signing_time else "") + "/>"
        for c in entry.checks)
    signature = f"<signature>{checks}</signature>" if checks else ""
    out.append(f'<eSignatures><eSignature present="{"true" if present else "false"}"{verified}>'
               f"{signature}</eSignature></eSignatures>")
    out.append("</record>\n")
    return "".join(out)

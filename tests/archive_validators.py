"""Independent validators for handover packages, all offline.

- `eark_validate(sip_root)` and `eark_unexplained(report)`: the E-ARK `eark-validator` from
  PyPI (pinned 1.1.3), run in its own virtual environment (it pins lxml 5.1.0, which is not
  ours). The venv is made once per machine under `~/.cache/registry-test/eark-venv` (or
  `$REGISTRY_TEST_CACHE/eark-venv`) with pip from PyPI. At import time eark-validator downloads four CSIP vocabularies from
  earkcsip.dilcis.eu; the same files ship inside its wheel (`ipxml/resources/vocabs/`), so this
  file, run as a script by the venv's Python, installs a urllib opener that serves those URLs
  from the wheel's copies and refuses every other URL, then validates. `eark_unexplained` is
  what a package test asserts empty: the errors that are not one of the validator's false
  positives (FALSE_POSITIVES, explained in docs/archive.md) at its documented place.
- `bagit_validate(bag_dir)`: the Library of Congress `bagit` package (`bagit.Bag.validate()`,
  what `bagit.py --validate` runs); `bagit_cli_validate` runs the command line itself.
- `xsd_errors(xml_path, schema)`: lxml XML Schema validation against the schemas the package
  ships (METS with the DILCIS extensions, PREMIS 3, ERMS v3), resolving the LoC XLink import
  of mets.xsd locally; `erms_schematron_errors(xml_path)`: the ERMS v3 Schematron.

Top-level imports are stdlib only: the venv's Python runs this file as the eark runner.
"""
import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

EARK_VERSION = "1.1.3"
HERE = Path(__file__).resolve().parent
SCHEMAS = HERE.parent / "src" / "registry" / "archive" / "schemas"


# --------------------------------------------------------------------------------------------
# eark-validator in its own venv
# --------------------------------------------------------------------------------------------
def _cache_dir():
    base = os.environ.get("REGISTRY_TEST_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "registry-test")
    return Path(base)


def eark_python():
    """The venv's python with eark-validator installed (made on first use, under a lock so
    that parallel test workers build it once)."""
    import fcntl

    venv = _cache_dir() / "eark-venv"
    python = venv / "bin" / "python"
    marker = venv / f".eark-validator-{EARK_VERSION}"
    if marker.exists():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / "eark-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            for command in ([sys.executable, "-m", "venv", "--clear", str(venv)],
                            [str(python), "-m", "pip", "install", "--quiet",
                             "--disable-pip-version-check", f"eark-validator=={EARK_VERSION}"]):
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode != 0:
                    raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-4000:]}")
            marker.write_text(EARK_VERSION)
    return python


def eark_validate(sip_root, version="2.1.0"):
    """eark-validator's full report (as a dict) for the information package whose root
    folder (the one holding METS.xml) is `sip_root`."""
    result = subprocess.run([str(eark_python()), __file__, "--eark", str(sip_root), version],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"eark-validator failed to run:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout)


def eark_messages(report, severity="Error"):
    """(section, rule id, message, location) for each message of `severity` in a report."""
    out = []
    for message in report["structure"]["messages"]:
        if message["severity"] == severity:
            out.append(("structure", message["rule_id"], message["message"],
                        message["location"]))
    metadata = report.get("metadata") or {}
    for section in ("schema_results", "schematron_results"):
        for message in (metadata.get(section) or {}).get("messages", []):
            if message["severity"] == severity:
                out.append((section, message["rule_id"], message["message"],
                            message["location"]))
    return out


def _run_eark(sip_root, version):
    """In the venv: validate offline and print the report as JSON."""
    import email.message
    import importlib.util
    import urllib.error
    import urllib.request
    import urllib.response

    origin = importlib.util.find_spec("eark_validator").submodule_search_locations[0]
    vocabs = Path(origin) / "ipxml" / "resources" / "vocabs"

    class WheelVocabularies(urllib.request.BaseHandler):
        handler_order = 100  # before urllib's own HTTP(S) handlers

        def _serve(self, request):
            url = request.full_url
            host_path = url.split("://", 1)[-1]
            if host_path.startswith("earkcsip.dilcis.eu/schema/"):
                local = vocabs / host_path.rsplit("/", 1)[-1]
                if local.is_file():
                    response = urllib.response.addinfourl(
                        open(local, "rb"), email.message.Message(), url, 200)
                    response.msg = "OK"
                    return response
            raise urllib.error.URLError(f"offline: no local copy of {url}")

        http_open = https_open = _serve

    urllib.request.install_opener(urllib.request.build_opener(WheelVocabularies))

    from eark_validator.packages import PackageValidator
    from eark_validator.specifications.specification import SpecificationVersion

    report = PackageValidator(Path(sip_root), SpecificationVersion(f"V{version}"))
    print(report.validation_report.model_dump_json())


#: eark-validator 1.1.3 rules that fail on a package conforming to E-ARK CSIP/SIP 2.1.0, and
#: where (docs/archive.md gives each reason). Any other error fails the test, and these rules
#: may fire only at these places.
FALSE_POSITIVES = {
    # the bundled vocabulary predates CITS ERMS v3 (it lists citserms_v2_1 only)
    "CSIP4": re.compile(r"^/mets:mets\("),
    # CSIP12-16 are checked on every agent with ROLE="CREATOR", but E-ARK SIP requires the
    # submitting organisation (SIP15-20) and allows a contact person (SIP21-25) with that role
    "CSIP12": re.compile(r"mets:agent\[@ROLE = 'CREATOR'\].*\]\[(3|4)\]$"),
    "CSIP13": re.compile(r"mets:agent\[@ROLE = 'CREATOR'\].*\]\[(3|4)\]$"),
    "CSIP15": re.compile(r"mets:agent\[@ROLE = 'CREATOR'\].*\]\[4\]$"),
    "CSIP16": re.compile(r"mets:agent\[@ROLE = 'CREATOR'\].*\]\[(3|4)\]$"),
    # the assertion can only pass for CONTENTINFORMATIONTYPE="OTHER"
    "CSIP63": re.compile(r"local-name\(\)='fileGrp'.*\]\[[123]\]$"),
    # requires a div labelled "Representations", which CSIP101 wants only when there are no
    # representation divs
    "CSIP103": re.compile(r"/mets:structMap\[@LABEL = 'CSIP'\]/mets:div"),
    # checks an unqualified @NOTETYPE (METS does not allow it) on every CREATOR's note
    "SIP14": re.compile(r"mets:agent\[@ROLE = 'CREATOR'\].*\]\[(1|3)\]/\*\[local-name\(\)='note'"),
}
#: The same for warnings: both come from the CSIP103 reading (representation divs expected
#: under a div labelled "Representations").
FALSE_POSITIVE_WARNINGS = {
    "CSIP101": re.compile(r"/mets:structMap\[@LABEL = 'CSIP'\]/mets:div"),
    "CSIP105": re.compile(r"/mets:structMap\[@LABEL = 'CSIP'\]/mets:div"),
}


def eark_unexplained(report, severity="Error"):
    """eark-validator errors (or warnings) of a report that are not a documented false
    positive (docs/archive.md) at its place: what a test of a package asserts is empty."""
    known = FALSE_POSITIVES if severity == "Error" else FALSE_POSITIVE_WARNINGS
    out = []
    for section, rule, message, location in eark_messages(report, severity):
        allowed = known.get(rule)
        if section != "schematron_results" or allowed is None or not allowed.search(location):
            out.append((section, rule, message, location))
    return out


# --------------------------------------------------------------------------------------------
# BagIt (Library of Congress bagit-python)
# --------------------------------------------------------------------------------------------
def bagit_validate(bag_dir):
    """None if the bag is valid (manifests, tag manifests, Payload-Oxum, completeness), else
    bagit's error message."""
    import bagit

    try:
        bagit.Bag(str(bag_dir)).validate(processes=1)
    except bagit.BagError as exc:
        details = getattr(exc, "details", None) or []
        return f"{exc}: " + "; ".join(str(d) for d in details)
    return None


def bagit_cli_validate(bag_dir):
    """Run `bagit.py --validate` (the module's command line) on a bag: (returncode, output)."""
    result = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(bag_dir)],
                            capture_output=True, text=True, timeout=600)
    return result.returncode, result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# XML Schema and Schematron (lxml)
# --------------------------------------------------------------------------------------------
def _local_resolver():
    from lxml import etree

    class Local(etree.Resolver):
        """Resolve the schemas' imports to the shipped copies; refuse the network."""

        def resolve(self, url, public_id, context):
            name = url.rsplit("/", 1)[-1]
            if (SCHEMAS / name).is_file():
                return self.resolve_filename(str(SCHEMAS / name), context)
            raise OSError(f"offline: no local copy of {url}")

    return Local()


METS_DRIVER = f"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:x-registry:tests">
  <xs:import namespace="http://www.loc.gov/METS/" schemaLocation="{SCHEMAS / 'mets.xsd'}"/>
  <xs:import namespace="https://DILCIS.eu/XML/METS/CSIPExtensionMETS"
             schemaLocation="{SCHEMAS / 'DILCISExtensionMETS.xsd'}"/>
  <xs:import namespace="https://DILCIS.eu/XML/METS/SIPExtensionMETS"
             schemaLocation="{SCHEMAS / 'DILCISExtensionSIPMETS.xsd'}"/>
</xs:schema>
"""


@functools.lru_cache(maxsize=None)
def schema(kind):
    """An lxml XMLSchema: "mets" (METS 1.12 + the CSIP and SIP extension attributes, which
    the METS schema's lax wildcards then check), "premis" (PREMIS 3.0) or "erms" (ERMS v3)."""
    from lxml import etree

    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_local_resolver())
    if kind == "mets":
        doc = etree.fromstring(METS_DRIVER.encode(), parser, base_url=str(SCHEMAS) + "/")
        return etree.XMLSchema(doc)
    name = {"premis": "premis-v3-0.xsd", "erms": "ERMS_v3.xsd"}[kind]
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name), parser))


def xsd_errors(xml_path, kind):
    """The schema errors of one XML file ([] if valid). Large files are parsed with
    huge_tree so that a 100,000-letter package can be checked too."""
    from lxml import etree

    doc = etree.parse(str(xml_path), etree.XMLParser(no_network=True, huge_tree=True))
    validator = schema(kind)
    if validator.validate(doc):
        return []
    return [f"{e.line}: {e.message}" for e in validator.error_log]


@functools.lru_cache(maxsize=None)
def _erms_schematron():
    from lxml import etree, isoschematron

    # The rules use XPath 1 only; lxml's Schematron runs XSLT 1, so the declared binding is
    # changed on a copy (the file itself stays as published).
    doc = etree.parse(str(SCHEMAS / "erms_v3.sch"))
    doc.getroot().set("queryBinding", "xslt1")
    return isoschematron.Schematron(doc, store_report=True)


def erms_schematron_errors(xml_path):
    """Failed assertions of the ERMS v3 Schematron on one file ([] if none)."""
    from lxml import etree

    rules = _erms_schematron()
    doc = etree.parse(str(xml_path), etree.XMLParser(no_network=True, huge_tree=True))
    if rules.validate(doc):
        return []
    svrl = "{http://purl.oclc.org/dsdl/svrl}"
    return [" ".join("".join(failed.itertext()).split()) + f" at {failed.get('location')}"
            for failed in rules.validation_report.iter(svrl + "failed-assert")]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--eark":
        _run_eark(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: archive_validators.py --eark SIP_ROOT VERSION")

"""Registry: records registry and exchange for digitally signed official letters.

`templates/`, `workflows/` and `etc/` live at the top of the repository (see DESIGN.md); a
wheel carries them inside the package as `registry/templates`, `registry/workflows` and
`registry/etc`, so that `pip install .` ships them. `registry.paths` finds them in either place.
"""
import os
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = os.path.abspath(os.path.dirname(__file__))
SHIPPED_DIRS = ("templates", "workflows", "etc")


class BuildWithShippedDirs(build_py):
    """build_py that also copies the top-level shipped folders into the package."""

    def run(self):
        super().run()
        for name in SHIPPED_DIRS:
            source = os.path.join(HERE, name)
            target = os.path.join(self.build_lib, "registry", name)
            if os.path.isdir(target):
                shutil.rmtree(target)
            shutil.copytree(
                source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.crl.tmp")
            )


INSTALL_REQUIRES = [
    # Pyramid, Deform and pyramid_chameleon import pkg_resources, which setuptools 81 drops.
    "setuptools<81",
    "pyramid>=2.0,<3",
    "pyramid_tm>=2.5",
    "pyramid_retry>=2.1",
    "pyramid_chameleon>=0.3",
    "transaction>=4.0",
    "ZODB>=6.0",
    "ZEO>=6.0",
    "zodburi>=3.0",
    "BTrees>=5.0",
    "persistent>=5.0",
    "deform>=3.0,<4",
    "colander>=2.0",
    "Chameleon>=4.0",
    "waitress>=3.0",
    "argon2-cffi>=23.1",
    "click>=8.1",
    "PasteDeploy>=3.0",
    "plaster_pastedeploy>=1.0",
    "translationstring>=1.4",
    "pyHanko[pkcs11]>=0.38,<0.39",
    "pyhanko-certvalidator>=0.33",
    "cryptography>=43",
    "asn1crypto>=1.5",
    "reportlab>=4.0",
    # Text of letters for search (PDFium: fast, reads Mongolian right); OCR runs the
    # Debian tesseract program (see the Makefile), not a Python binding.
    "pypdfium2>=4.30",
    # QR codes of letters' public verification URLs (pure Python): the letter's page, the
    # stamp before signing, the delivery receipts.
    "segno>=1.6",
    # The full-text index: Tantivy (native, the default engine); the maintained fork of Whoosh
    # (imports as `whoosh`: the other engine, and the query parser both use), and NumPy for
    # counting Whoosh's facets over the matching documents.
    "tantivy>=0.27,<0.28",
    "whoosh-reloaded>=2.7.5,<2.8",
    "numpy>=1.24",
    # Requests are checked at the door against the OpenAPI document's schemas; download
    # headers (Content-Disposition) are built by Werkzeug's header quoting.
    "openapi-schema-validator>=0.6",
    "Werkzeug>=3.0",
    # Journals exported as spreadsheets, written row by row (constant memory).
    "XlsxWriter>=3.1",
    # Notifications by mail: transactional delivery (a mail leaves when its transaction commits).
    "pyramid_mailer>=0.15",
    # The desk: Mongolia's public holidays (lunar ones included) for working-day deadlines;
    # scans of paper letters (JPEG/PNG/TIFF pages) made into one PDF without re-encoding.
    "holidays>=0.60",
    "img2pdf>=0.5",
]

# Several machines share one store: RelStorage on PostgreSQL (psycopg2's wheel carries libpq,
# so no Debian package is needed to install it).
POSTGRESQL_REQUIRE = [
    "relstorage>=4.0,<5",
    "psycopg2-binary>=2.9",
]

TESTS_REQUIRE = [
    "pytest>=8",
    "pytest-xdist>=3.5",
    "WebTest>=3.0",
    "playwright>=1.45",
    "lingua>=4.15",
    "openapi-spec-validator>=0.7",
    "polib>=1.2",
    "Pillow>=10",  # draws scanned letters for the OCR tests
    # Archive packages are checked by independent validators: LoC bagit, lxml (XSD and
    # Schematron); eark-validator runs in its own venv (tests/archive_validators.py).
    "bagit>=1.8",
    "lxml>=5",
    # Property-based run of the JSON API against its OpenAPI document (tests/test_intake.py).
    "schemathesis>=4.0,<5",
    # Reads the journals' XLSX exports back (an independent reader of what XlsxWriter wrote).
    "openpyxl>=3.1",
    # The functional tests run on RelStorage too, on a PostgreSQL cluster of their own; the
    # two-machine test talks to real servers over HTTP.
    *POSTGRESQL_REQUIRE,
    "requests>=2.28",
    # A real SMTP server on 127.0.0.1 that the mail tests read (tests/test_mail.py).
    "aiosmtpd>=1.4",
]

setup(
    name="registry",
    version="0.1.0",
    description="Records registry and exchange for digitally signed official letters",
    long_description=open(os.path.join(HERE, "README.md"), encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Proprietary",
    python_requires=">=3.11",
    package_dir={"": "src"},
    packages=find_packages("src"),
    include_package_data=True,
    package_data={
        "registry": [
            "static/*",
            "static/**/*",
            "locale/*/LC_MESSAGES/*.po",
            "locale/*/LC_MESSAGES/*.mo",
            "locale/*.pot",
            "views/openapi.json",
            "archive/schemas/*",
        ]
    },
    cmdclass={"build_py": BuildWithShippedDirs},
    install_requires=INSTALL_REQUIRES,
    extras_require={"test": TESTS_REQUIRE, "postgresql": POSTGRESQL_REQUIRE},
    entry_points={
        "console_scripts": ["registry = registry.cli:main"],
        "paste.app_factory": ["main = registry:main"],
        # `make pot` takes the workflows' state and transition titles from their TOML.
        "lingua.extractors": ["registry-workflow = registry.workflow.extract:WorkflowExtractor"],
    },
    zip_safe=False,
)

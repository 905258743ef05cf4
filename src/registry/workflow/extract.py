"""Message extraction for the workflow definitions: a lingua extractor (`make pot`) giving
the title of every state and transition of `workflows/*.toml` as the message
`state-<name>` / `transition-<name>` (registry.workflow.definition.message_id), its default
the title, so the titles stay in the catalogs beside the code's and the templates' messages.

Registered as the `lingua.extractors` entry point `registry-workflow` (setup.py) and named
for `.toml` files in etc/lingua.cfg.
"""
import re
import tomllib
from pathlib import Path

from lingua.extractors import Extractor, Message

from registry.workflow.definition import message_id

KINDS = (("states", "state"), ("transitions", "transition"))


class WorkflowExtractor(Extractor):
    """Registry workflow definitions (TOML): state and transition titles"""

    extensions = [".toml"]

    def __call__(self, filename, options, fileobj=None, firstline=0):
        text = fileobj.read() if fileobj is not None else Path(filename).read_bytes()
        text = text.decode("utf-8") if isinstance(text, bytes) else text
        data = tomllib.loads(text)
        for table, kind in KINDS:
            for name, spec in data.get(table, {}).items():
                title = spec.get("title")
                if not title:
                    continue
                yield Message(None, message_id(kind, name), None, [], f"Default: {title}", "",
                              (filename, firstline + _line_of(text, table, name)))


def _line_of(text, table, name):
    """The line of the `[table.name]` header (1-based), else 1."""
    header = re.compile(rf"^\[{table}\.{re.escape(name)}\]\s*$", re.M)
    found = header.search(text)
    return text.count("\n", 0, found.start()) + 1 if found else 1

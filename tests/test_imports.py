"""The web app and its services start without spaCy: it loads where text is parsed or tokenized, not before."""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    "annotator",
    "annotator.web",
    "annotator.services.workspace",
    "annotator.services.curation",
    "annotator.services.tallies",
    "annotator.services.importer",
    "annotator.services.export",
]


def test_the_app_imports_without_spacy():
    code = f"import sys, importlib; [importlib.import_module(m) for m in {MODULES!r}]; print('spacy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"

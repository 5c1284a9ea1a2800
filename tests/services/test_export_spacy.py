"""The DocBin export of the seed gold passes ``spacy debug data`` and trains with ``spacy train``.

Both run spaCy's own command line, so they are slow and marked ``model``;
they use SQLite only (the export's database code is tested on both backends
elsewhere).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from sqlmodel import Session, SQLModel

from annotator.db import make_engine
from annotator.services.export import export
from annotator.services.importer import import_paths
from tests.conftest import DATA

pytestmark = pytest.mark.model


def spacy_cli(*args, cwd, check=True):
    return subprocess.run(
        [sys.executable, "-m", "spacy", *map(str, args)], cwd=cwd, capture_output=True, text=True, check=check
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The seed gold exported as the shard folders train and dev, with a ner config from `spacy init config`."""
    folder = tmp_path_factory.mktemp("corpus")
    engine = make_engine(f"sqlite:///{folder / 'db.sqlite3'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        import_paths(session, sorted(DATA.glob("*.jsonl")), origin="gold")
        summary = export(session, "gold", folder / "corpus", format_="spacy", dev=0.5, seed=1)
    engine.dispose()
    assert summary.written == {"train": 1, "dev": 1}
    spacy_cli("init", "config", "-l", "en", "-p", "ner", "config.cfg", cwd=folder)
    return folder


def test_spacy_debug_data_finds_nothing_wrong_with_the_export(corpus):
    result = spacy_cli(
        "debug", "data", "config.cfg",
        "--paths.train", "corpus/train", "--paths.dev", "corpus/dev",
        cwd=corpus, check=False,
    )  # fmt: skip
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    for check in (
        "Corpus is loadable",
        "Pipeline can be initialized with data",
        "No overlap between training and evaluation data",
        "No entities consisting of or starting/ending with whitespace",
        "No entities crossing sentence boundaries",
    ):
        assert f"✔ {check}" in output, output
    assert "3 label(s)" in output
    # Two articles are far below the 100 examples spaCy asks of a new pipeline:
    # the one failure is about the corpus's size, none about its content.
    failures = [line for line in output.splitlines() if line.startswith("✘")]
    assert failures == ["✘ Low number of examples to train a new pipeline (1)", "✘ 1 error"], output


def test_spacy_train_runs_on_the_export(corpus):
    spacy_cli(
        "train", "config.cfg", "--output", "model",
        "--paths.train", "corpus/train", "--paths.dev", "corpus/dev",
        "--training.max_steps", "5", "--training.eval_frequency", "5",
        cwd=corpus,
    )  # fmt: skip
    import spacy

    nlp = spacy.load(corpus / "model" / "model-last")
    assert set(nlp.get_pipe("ner").labels) == {"ACTOR", "LOCATION", "CASUALTY"}

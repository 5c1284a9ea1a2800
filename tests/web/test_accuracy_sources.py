"""The Accuracy page offers each model source that pushed predictions, and scores it."""

from __future__ import annotations

import re

from annotator.services.predictions import store_predictions
from tests.factories import make_article, make_span

TEXT = "Taliban fighters attacked Kabul."


def test_the_page_lists_and_scores_each_source(client, auth, db_session):
    article = make_article(db_session, external_id="a1", text=TEXT)
    make_span(db_session, article, start=0, end=16, label="ACTOR", origin="gold")
    make_span(db_session, article, start=26, end=31, label="LOCATION", origin="gold")
    store_predictions(db_session, "a1", "crf", [{"start": 0, "end": 16, "label": "ACTOR"}], user=None)
    auth.login("rev", role="reviewer")
    page = client.get("/accuracy/?gold=gold&pred=model:crf")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    predicted = re.search(r'<select name="pred">(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="([^"]+)"', predicted)[:4] == [
        "gold",
        "model",
        "model:crf",
        "model:preannotator",
    ]
    assert '<option value="model:crf" selected>' in predicted
    micro = re.search(r'<tr data-label="micro"[^>]*>(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'class="acc-r">([^<]*)<', micro).group(1) == "0.500"

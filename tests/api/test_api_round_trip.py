"""A script's whole journey over the API: push articles and predictions, read them back, score, export.

The API's gold export must be byte for byte the file `annotator export` writes.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from annotator.cli import main

ARTICLES = 100
TEMPLATE = "Gunmen killed {n} civilians in Kabul on day {i}, and soldiers wounded {m} attackers near Herat."


def _article(i: int) -> dict:
    text = TEMPLATE.format(n=i + 2, m=i + 1, i=i)
    actor = text.index("Gunmen")
    kabul = text.index("Kabul")
    herat = text.index("Herat")
    killed = text.index(f"{i + 2} civilians")
    return {
        "id": f"wire/{i:03d}",
        "text": text,
        "source": "wire",
        "spans": [
            {"start": actor, "end": actor + 6, "label": "ACTOR", "attrs": {}},
            {
                "start": killed,
                "end": killed + len(f"{i + 2} civilians"),
                "label": "CASUALTY",
                "attrs": {"count": i + 2, "qualifier": "exact", "outcome": "killed", "group": "civilian"},
            },
            {"start": kabul, "end": kabul + 5, "label": "LOCATION", "attrs": {}},
            {"start": herat, "end": herat + 5, "label": "LOCATION", "attrs": {}},
        ],
    }


def _predictions(record: dict, i: int) -> list[dict]:
    # The "model" finds both places and the actor, and misses the casualty on every third article.
    spans = [span for span in record["spans"] if span["label"] != "CASUALTY" or i % 3]
    return [{key: span[key] for key in ("start", "end", "label", "attrs")} for span in spans]


def _json(response):
    assert response.is_json, response.data[:300]
    return response.json


@pytest.fixture
def admin(api_token):
    return {**api_token("admin", "boss"), "Content-Type": "application/json"}


def test_push_read_score_and_export_match_the_command_line(client, admin, runner, tmp_path):
    records = [_article(i) for i in range(ARTICLES)]

    pushed = client.post(
        "/api/v1/articles", data=json.dumps({"articles": records, "origin": "gold"}), headers=admin
    )
    assert pushed.status_code == 201, pushed.json
    for i, record in enumerate(records):
        response = client.post(
            f"/api/v1/articles/{quote(record['id'], safe='')}/predictions",
            data=json.dumps({"source": "ner-v2", "spans": _predictions(record, i)}),
            headers=admin,
        )
        assert response.status_code in (200, 201), response.json

    # Read the list back page by page, by the cursor the API hands out.
    seen, url = [], "/api/v1/articles?limit=30"
    while url:
        page = _json(client.get(url, headers=admin))
        seen.extend(item["id"] for item in page["articles"])
        url = page["next"]
    assert seen == [record["id"] for record in records]

    # Each article comes back with its text, its gold and the pushed predictions.
    for i, record in enumerate(records):
        article = _json(client.get(f"/api/v1/articles/{quote(record['id'], safe='')}", headers=admin))
        assert article["text"] == record["text"]
        assert [(s["start"], s["end"], s["label"]) for s in article["spans"]["gold"]] == [
            (s["start"], s["end"], s["label"]) for s in record["spans"]
        ]
        predicted = [(s["start"], s["end"], s["label"]) for s in article["spans"]["model"]]
        assert predicted == [(s["start"], s["end"], s["label"]) for s in _predictions(record, i)]

    # Scored over the API as `annotator evaluate --json` scores it.
    scored = client.post(
        "/api/v1/evaluate", data=json.dumps({"gold": "gold", "pred": "model:ner-v2"}), headers=admin
    )
    assert scored.status_code == 200, scored.json
    cli = runner.invoke(main, ["evaluate", "--gold", "gold", "--pred", "model:ner-v2", "--json"])
    assert cli.exit_code == 0, cli.output
    assert scored.json == json.loads(cli.stdout)
    missed = ARTICLES - len([i for i in range(ARTICLES) if i % 3])
    assert scored.json["per_label"]["CASUALTY"]["strict"]["missed"] == missed

    # The gold export, streamed over the API, is byte for byte the command line's file.
    for format_ in ("jsonl", "conll", "csv"):
        downloaded = client.get(f"/api/v1/export?origin=gold&format={format_}", headers=admin)
        assert downloaded.status_code == 200, downloaded.data[:300]
        assert downloaded.headers["X-Export-Written"] == str(ARTICLES)
        out = tmp_path / f"gold.{format_}"
        result = runner.invoke(main, ["export", "--origin", "gold", "--format", format_, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert downloaded.data == out.read_bytes(), format_

"""Print the pre-annotator's scores on hand-made gold sets: spans, attributes and, where the gold has one, the tally.

    PYTHONPATH=. .venv/bin/python tests/nlp/score_sets.py tests/nlp/data/styles.jsonl [...]

Only summary numbers are printed, never an article or an error, so a blind set
(``heldout3.jsonl``) stays blind when scored. The tally lines compare the hand
counts (``@tally`` in the ``.md``) with the tally of the gold spans (the rules
alone) and with the tally of the predicted spans (the whole chain).
"""

from __future__ import annotations

import sys
from pathlib import Path

from annotator.nlp import load_pipeline, predict
from annotator.nlp.evaluate import score
from annotator.nlp.tally import OUTCOMES, tally

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.nlp.conftest import read_gold  # noqa: E402


def tally_line(name: str, tallies: list[dict], hand: list[dict]) -> str:
    n = len(hand)

    def share(test) -> str:
        return f"{sum(map(test, tallies, hand))}/{n}"

    mae = (
        sum(abs(t["killed"]["total"] - h["killed"]["total"]) for t, h in zip(tallies, hand, strict=True)) / n
    )
    return (
        f"  tally of the {name}: every total {share(lambda t, h: all(t[o]['total'] == h[o]['total'] for o in OUTCOMES))}, "
        f"killed total {share(lambda t, h: t['killed']['total'] == h['killed']['total'])}, "
        f"wounded total {share(lambda t, h: t['wounded']['total'] == h['wounded']['total'])}, "
        f"whole tally {share(lambda t, h: t == h)}, killed MAE {mae:.2f}"
    )


def main(paths: list[str]) -> None:
    nlp = load_pipeline()
    for path in paths:
        gold = read_gold([Path(path)])
        predicted = list(predict([record["text"] for record in gold], nlp=nlp))
        scores = score(gold, predicted)
        print(f"{path} ({len(gold)} documents)")
        print(scores.table())  # never scores.errors: a blind set stays blind
        with_tally = [
            (record, spans) for record, spans in zip(gold, predicted, strict=True) if "tally" in record
        ]
        if with_tally:
            hand = [record["tally"] for record, _ in with_tally]
            rules = [tally(record["spans"], text=record["text"]).to_json() for record, _ in with_tally]
            chain = [tally(spans, text=record["text"]).to_json() for record, spans in with_tally]
            print(tally_line("gold spans", rules, hand))
            print(tally_line("predicted spans", chain, hand))
        print()


if __name__ == "__main__":
    main(sys.argv[1:])

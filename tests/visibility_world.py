"""Articles of an import still running beside committed ones, for the visibility tests.

Every surface that finds articles must leave out those of a batch whose state
is not "committed", and show them once it is. The pending articles get what
would make each surface show them (model spans, gold, accepted and flagged
versions), built while their batch is committed; the batch is then set to
"importing", as a streamed import leaves it until its last step.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session

from annotator.models import Article, BatchState, ImportBatch, User
from annotator.services.settings import set_setting
from tests.factories import COMPLETE_CASUALTY, make_article, make_span, make_user, make_version

# Each text ends with its article's name, so that an export that carries no ids (CoNLL) still shows it.
TEXT = "Taliban fighters killed nine soldiers in Helmand province , said {name} ."
TALIBAN, SOLDIERS, HELMAND = (0, 7), (24, 37), (41, 48)
PREANNOTATED = "tests-pipeline"

# In article order: the pending articles come first, so that the queue would give them out first.
PENDING = ("pendingfresh", "pendingwaiting", "pendinggold")
SHOWN = ("shownfresh", "showngold")


@dataclass
class World:
    batch: ImportBatch
    articles: dict[str, Article]
    ann: User
    bob: User
    cat: User
    dan: User  # an annotator who has touched nothing
    rev: User

    def id_of(self, name: str) -> int:
        return self.articles[name].id


def set_batch_state(session: Session, batch: ImportBatch, state: str) -> None:
    """Set the batch's state, the one-row step that makes an import's articles visible."""
    session.execute(update(ImportBatch).where(ImportBatch.id == batch.id).values(state=state))
    session.commit()


def _model_spans(session: Session, article: Article) -> None:
    make_span(session, article, start=TALIBAN[0], end=TALIBAN[1], label="ACTOR", origin="model")
    make_span(session, article, start=HELMAND[0], end=HELMAND[1], label="LOCATION", origin="model")
    session.execute(update(Article).where(Article.id == article.id).values(preannotated_with=PREANNOTATED))
    session.commit()


def _gold(session: Session, article: Article) -> None:
    make_span(session, article, start=TALIBAN[0], end=TALIBAN[1], label="ACTOR")
    start, end = SOLDIERS
    make_span(session, article, start=start, end=end, label="CASUALTY", attrs=COMPLETE_CASUALTY)


def build_world(session: Session) -> World:
    """Build the articles (see PENDING and SHOWN) and leave the pending ones' batch importing.

    - pendingfresh, shownfresh: untouched, not pre-annotated (the queue's and pre-annotation's next);
    - pendingwaiting: model spans, accepted by ann and bob with different spans, no gold (waits for
      adjudication; agreement, the dashboard and progress count it);
    - pendinggold, showngold: model spans and gold (with a CASUALTY, for the CSV export); on
      pendinggold cat's flagged version and ann's accepted one (feedback compares it with the gold),
      so the queue would give it out first, as started and with room.
    """
    set_setting(session, "annotators_per_article", "2")
    ann, bob, cat, dan = (
        make_user(session, username=name, password="pw") for name in ("ann", "bob", "cat", "dan")
    )
    rev = make_user(session, username="rev", password="pw", role="reviewer")
    batch = ImportBatch(
        channel="cli", origin="tests", files=["stream.jsonl"], state=BatchState.COMMITTED.value
    )
    session.add(batch)
    session.commit()
    session.refresh(batch)
    articles = {}
    for name in PENDING + SHOWN:
        article = make_article(session, external_id=name, text=TEXT.format(name=name))
        if name in PENDING:
            article.import_batch_id = batch.id
            session.add(article)
            session.commit()
        articles[name] = article
    for name in ("pendingwaiting", "pendinggold", "showngold"):
        _model_spans(session, articles[name])
    for name in ("pendinggold", "showngold"):
        _gold(session, articles[name])
    make_version(session, articles["pendingwaiting"], ann, [(TALIBAN, "ACTOR"), (HELMAND, "LOCATION")])
    make_version(session, articles["pendingwaiting"], bob, [(TALIBAN, "ACTOR")])
    make_version(session, articles["pendinggold"], cat, [(HELMAND, "ACTOR")], status="flagged", comment="?")
    make_version(session, articles["pendinggold"], ann, [(TALIBAN, "ACTOR")])
    set_batch_state(session, batch, BatchState.IMPORTING.value)
    return World(batch, articles, ann, bob, cat, dan, rev)

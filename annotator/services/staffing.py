"""What changing the number of annotators per article (or the overlap share) does to work under way.

Both settings apply at once, also to articles already started, so the
settings page shows this before an admin saves such a change: how many
articles that have all their annotators would need more (Next offers them
again), how many would have more than they need (nobody's version is
removed), and how many would stop or start counting as complete.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import BigInteger, bindparam, case, cast, func
from sqlmodel import Session, select

from annotator.models import AnnotationState, Status, utcnow
from annotator.services.assignment import claim_params, holds
from annotator.services.settings import SPREAD, ProjectSettings, parse_setting

# The settings that decide how many annotators an article needs.
STAFFING_SETTINGS = ("annotators_per_article", "overlap_coverage")

_STATES = AnnotationState.__table__


@dataclass(frozen=True)
class StaffingChange:
    """Counts of started articles (held or accepted by someone) under the current and proposed settings."""

    started: int
    # Had all the annotators they need, would need more: Next offers them again.
    reopened: int
    # Had no more annotators than they need, would have more; every version stays.
    overstaffed: int
    # Had all the accepted versions they need, would not any more (and the reverse).
    no_longer_complete: int
    now_complete: int

    @property
    def matters(self) -> bool:
        return bool(self.reopened or self.overstaffed or self.no_longer_complete or self.now_complete)


def _required(article_id, suffix: str):
    return case(
        # 64-bit: id * 7919 leaves PostgreSQL's 32-bit integer above id 271,000.
        (
            (cast(article_id, BigInteger) * SPREAD) % 10_000 < bindparam(f"coverage_{suffix}"),
            bindparam(f"n_{suffix}"),
        ),
        else_=1,
    )


def staffing_change(session: Session, key: str, raw: str, current: ProjectSettings) -> StaffingChange | None:
    """Return what setting ``key`` to ``raw`` would change for started articles (None: not such a setting).

    Raises BadSetting when ``raw`` is not a value the setting takes, as ``set_setting`` would.
    """
    value = parse_setting(key, raw)
    if key not in STAFFING_SETTINGS:
        return None
    proposed = replace(current, **{key: value})
    per_article = (
        select(
            _STATES.c.article_id.label("article_id"),
            func.sum(case((holds(_STATES), 1), else_=0)).label("holders"),
            func.sum(case((_STATES.c.status == Status.ACCEPTED.value, 1), else_=0)).label("accepted"),
        )
        .group_by(_STATES.c.article_id)
        .subquery()
    )
    holders, accepted = per_article.c.holders, per_article.c.accepted
    before, after = (
        _required(per_article.c.article_id, "before"),
        _required(per_article.c.article_id, "after"),
    )

    def count(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    statement = select(
        count(holders > 0),
        count((holders >= before) & (holders < after)),
        count((holders > after) & (holders <= before)),
        count((accepted >= before) & (accepted < after)),
        count((accepted < before) & (accepted >= after) & (accepted > 0)),
    ).select_from(per_article)
    now = utcnow()
    params = {
        "cutoff": claim_params(current, now)["cutoff"],
        **{f"{name}_before": value for name, value in claim_params(current, now).items() if name != "cutoff"},
        **{f"{name}_after": value for name, value in claim_params(proposed, now).items() if name != "cutoff"},
    }
    started, reopened, overstaffed, no_longer, now_complete = session.execute(statement, params).one()
    return StaffingChange(started, reopened, overstaffed, no_longer, now_complete)

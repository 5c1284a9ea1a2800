"""`annotator config show|set` and `annotator assign`."""

from __future__ import annotations

import pytest

from annotator.cli import main
from annotator.services.settings import load_settings
from tests.factories import make_article, make_user


def test_config_show_lists_every_setting_with_its_default(runner):
    result = runner.invoke(main, ["config", "show"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split()[1] for line in result.output.splitlines()}
    assert lines == {
        "annotators_per_article": "1",
        "overlap_coverage": "100%",
        "preannotate_overlap": "yes",
        "claim_timeout": "24h",
        "annotators_see_gold": "no",
        "merge_strategy": "unanimous",
        "upload_limit_mb": "200",
    }


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("annotators_per_article", "3", "3"),
        ("overlap_coverage", "25%", "25%"),
        ("preannotate_overlap", "no", "no"),
        ("claim_timeout", "90m", "1.5h"),
        ("annotators_see_gold", "yes", "yes"),
        ("merge_strategy", "Majority", "majority"),
        ("upload_limit_mb", " 500 ", "500"),
    ],
)
def test_config_set_stores_a_setting(runner, db_session, key, value, shown):
    result = runner.invoke(main, ["config", "set", key, value])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{key} = {shown}"
    assert f"{key}" in runner.invoke(main, ["config", "show"]).output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["colour", "blue"], "no setting 'colour'; the settings are: annotators_per_article"),
        (
            ["annotators_per_article", "0"],
            "annotators_per_article must be a whole number from 1 to 20, not '0'",
        ),
        (["overlap_coverage", "150"], "overlap_coverage must be a percentage from 0 to 100"),
        (["claim_timeout", "soon"], "claim_timeout must be a duration such as 24h, 90m or 2d"),
        (["preannotate_overlap", "maybe"], "preannotate_overlap must be yes or no"),
        (["merge_strategy", "vote"], "merge_strategy must be unanimous or majority, not 'vote'"),
        (["upload_limit_mb", "0"], "upload_limit_mb must be a whole number from 1 to 100000, not '0'"),
    ],
)
def test_config_set_refuses_a_bad_value_in_one_line(runner, db_session, args, message):
    result = runner.invoke(main, ["config", "set", *args])
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert load_settings(db_session).annotators_per_article == 1


def test_assign_by_ids_and_by_count(runner, db_session, tmp_path):
    make_user(db_session, username="ann")
    for i in range(4):
        make_article(db_session, external_id=f"a{i}", text=f"Kabul {i}")
    ids = tmp_path / "ids.txt"
    ids.write_text("a2\na0\n\n", encoding="utf-8")
    result = runner.invoke(main, ["assign", "--annotator", "ann", "--ids", str(ids)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Assigned 2 articles to ann."
    result = runner.invoke(main, ["assign", "--annotator", "ann", "--count", "5"])
    assert result.output.strip() == "Assigned 2 articles to ann."


def test_assign_says_when_it_exceeds_n(runner, db_session, tmp_path):
    make_user(db_session, username="ann")
    make_user(db_session, username="bob")
    make_article(db_session, external_id="a0", text="Kabul")
    ids = tmp_path / "ids.txt"
    ids.write_text("a0\n", encoding="utf-8")
    runner.invoke(main, ["assign", "--annotator", "ann", "--ids", str(ids)])
    result = runner.invoke(main, ["assign", "--annotator", "bob", "--ids", str(ids)])
    assert result.exit_code == 0
    assert (
        "1 of them now have more annotators than the 1 they need (an assignment may exceed it): a0"
        in result.output
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--annotator", "ann"], "give either --ids FILE or --count K"),
        (["--annotator", "ann", "--count", "1", "--ids", "x"], None),
        (["--annotator", "nobody", "--count", "1"], "no user named 'nobody'"),
    ],
)
def test_assign_refuses_bad_use_in_one_line(runner, db_session, args, message):
    make_user(db_session, username="ann")
    result = runner.invoke(main, ["assign", *args])
    assert result.exit_code in (1, 2)
    assert "Traceback" not in result.output
    if message:
        assert message in result.output

"""``dallosh report``'s filter options become the Analysis page's ``analytics.Filters`` (the real parser)."""

from __future__ import annotations

import pytest

from dallosh import analytics
from dallosh.cli import build_parser
from dallosh.reports.cli import filters_from_args

BASE = ["report", "--all", "--period", "yesterday", "--to", "r.pdf"]


def parse(*extra: str):
    return build_parser().parse_args([*BASE, *extra])


def test_no_filter_option_keeps_the_default_scope():
    assert filters_from_args(parse()) is None


def test_every_option_maps_to_its_filter():
    args = parse("--sentiment", "negative", "neutral", "--priority", "2", "--topic", "Réseau", "Offres",
                 "--search", "panne fibre", "--include-operator", "--no-retweets")
    assert filters_from_args(args) == analytics.Filters(
        sentiments=["negative", "neutral"], priorities=[2], topics=["Réseau", "Offres"], search="panne fibre",
        include_operator=True, include_retweets=False)
    assert filters_from_args(parse("--include-operator")) == analytics.Filters(include_operator=True)
    assert filters_from_args(parse("--no-retweets")) == analytics.Filters(include_retweets=False)


@pytest.mark.parametrize("bad", [["--sentiment", "angry"], ["--priority", "5"], ["--priority", "high"]])
def test_values_outside_the_labels_are_refused_by_the_parser(bad, capsys):
    with pytest.raises(SystemExit) as info:
        parse(*bad)
    assert info.value.code == 2 and "invalid" in capsys.readouterr().err

"""The Analysis state in the address fragment, and the link shared with a colleague."""

from __future__ import annotations

from datetime import date

import pandas as pd

from dallosh.ui.analysis.crossfilter import make_drill
from dallosh.ui.analysis.state import MAX_FRAGMENT, ViewState, from_fragment
from dallosh.ui.location import share_link

TZ = "Europe/Paris"


def test_a_state_comes_back_whole_from_its_fragment():
    state = ViewState(datasets=("f1a2b3", "c4d5e6"), date_from=date(2025, 10, 1), date_to=date(2025, 10, 31),
                      topic="Réseau & co", sentiment="negative", priority=2, include_retweets=False,
                      include_operator=True, search="fibre coupée #panne",
                      drills=(make_drill("topic", "Offres", TZ), make_drill("day", pd.Timestamp("2025-10-03"), TZ)))
    fragment = state.to_fragment()
    assert "#" not in fragment.replace("%23", "") and " " not in fragment
    assert from_fragment(fragment, TZ) == (state, 0)
    assert from_fragment("#" + fragment, TZ) == (state, 0)


def test_the_default_state_is_an_empty_fragment():
    assert ViewState().to_fragment() == ""
    assert from_fragment("", TZ) == (ViewState(), 0)


def test_parts_a_page_could_not_have_written_are_left_out_and_counted():
    crafted = ("ds=ok-1&ds=../../etc/passwd&ds=%3Cscript%3E&sent=furious&prio=9&from=yesterday"
               "&f=%5B%5B%22eval%22%2C%22x%22%5D%2C%5B%22topic%22%2C%22R%C3%A9seau%22%5D%5D")
    state, ignored = from_fragment(crafted, TZ)
    assert state.datasets == ("ok-1",) and state.sentiment == "" and state.priority == -1
    assert state.date_from is None and state.drills == (make_drill("topic", "Réseau", TZ),)
    assert ignored == 5  # two datasets, the sentiment, the priority, the unknown chip
    assert from_fragment("f=not-json", TZ)[1] == 1
    assert from_fragment("x" * (MAX_FRAGMENT + 1), TZ) == (ViewState(), 1)


def test_a_shared_link_goes_through_the_hub_to_whoever_opens_it():
    opened = "https://dallosh.example/user/alice@free.com/voila/render/home/datasets.ipynb?token=secret"
    link = share_link(opened, "analysis.ipynb", "ds=abc&sent=negative")
    assert link == "https://dallosh.example/hub/user-redirect/voila/render/home/analysis.ipynb#ds=abc&sent=negative"
    # under a hub base URL
    assert share_link("https://x.example/dallosh/user/bob/voila/render/analysis.ipynb", "", "ds=a") == \
        "https://x.example/dallosh/hub/user-redirect/voila/render/analysis.ipynb#ds=a"
    # positive control: outside a hub (standalone Voilà) the address is kept, without its query string
    assert share_link("http://127.0.0.1:8866/voila/render/home/overview.ipynb?x=1", "analysis.ipynb", "ds=a") == \
        "http://127.0.0.1:8866/voila/render/home/analysis.ipynb#ds=a"

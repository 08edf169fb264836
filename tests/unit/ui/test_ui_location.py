"""Which notebook the address shows for a view, and which one a shared link names (``dallosh.ui.location``)."""

from __future__ import annotations

from pathlib import Path

from dallosh.ui.location import PageLocation, notebook_for, shared_notebook

NOTEBOOKS = Path(__file__).resolve().parents[3] / "hub" / "notebooks"


def test_shared_links_name_the_page_every_users_server_has():
    # an admin's page is admin/analysis.ipynb, which an analyst's server hides: the link names home/'s
    assert shared_notebook("analysis", NOTEBOOKS / "admin") == "../home/analysis.ipynb"
    assert (NOTEBOOKS / "admin" / "../home/analysis.ipynb").is_file()
    assert shared_notebook("analysis", NOTEBOOKS / "home") == "../home/analysis.ipynb"
    # a view with no page in home/ keeps its own (control)
    assert shared_notebook("users", NOTEBOOKS / "admin") == "users.ipynb"
    assert shared_notebook("nothing", NOTEBOOKS / "admin") == ""


def test_an_admin_on_a_home_page_finds_the_admin_pages():
    home = NOTEBOOKS / "home"
    assert notebook_for("users", home) == ""  # an analyst's App never shows it; nothing to point at
    assert notebook_for("users", home, ("../admin",)) == "../admin/users.ipynb"
    assert notebook_for("overview", home, ("../admin",)) == "overview.ipynb"  # its own folder first
    assert notebook_for("profile", home, ("../admin",)) == "../profile.ipynb"
    location = PageLocation(lambda _view: None, folder=home, extra=("../admin",))
    location.show("users")
    assert location.path == "../admin/users.ipynb" and location.view_at("../admin/users.ipynb") == "users"


def test_the_page_tells_the_app_it_opened_before_handing_over_its_state():
    calls: list[tuple[str, str]] = []
    location = PageLocation(lambda _view: None, folder=NOTEBOOKS / "home",
                            on_state=lambda state: calls.append(("state", state)),
                            on_open=lambda state: calls.append(("open", state)))
    location.handle({"type": "opened", "href": "http://x/voila/render/home/analysis.ipynb", "state": "ds=a"})
    assert calls == [("open", "ds=a"), ("state", "ds=a")]
    assert location.opened == "http://x/voila/render/home/analysis.ipynb"
    refusing = PageLocation(lambda _view: None, folder=NOTEBOOKS / "home",
                            on_state=lambda state: calls.append(("late", state)), on_open=lambda _state: False)
    refusing.handle({"type": "opened", "href": "http://x/", "state": "ds=b"})
    assert ("late", "ds=b") not in calls  # the page is being replaced: its state is not applied

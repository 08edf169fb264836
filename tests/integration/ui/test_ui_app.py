"""The App: role-dependent sidebar, in-kernel navigation, theme, maintenance banner, errors without tracebacks."""

from __future__ import annotations

import pytest

from dallosh.ui import registry
from dallosh.ui.app import App, logout_url
from dallosh.ui.components import is_visible
from dallosh.ui.registry import ViewSpec


def labels(app: App) -> list[str]:
    return [b.description for b in app.nav_buttons.values()]


def test_sidebar_depends_on_permissions_and_lists_only_existing_views(services, admin, analyst, make_actor):
    assert labels(App(services, admin, live=False)) == ["Overview", "Users", "Datasets", "Tasks", "Analysis",
                                                        "Alerts", "Reports", "Logs", "Settings"]
    assert labels(App(services, analyst, live=False)) == ["Overview", "Datasets", "Tasks", "Analysis", "Alerts",
                                                          "Reports"]
    reader = make_actor("read_datasets")
    app = App(services, reader, view="overview", live=False)
    assert labels(app) == ["Datasets", "Analysis", "Alerts", "Reports"]
    assert app.current == "datasets"  # overview not allowed: first allowed view instead
    assert "cannot open Overview" in app.alert.message


def test_navbar_shows_app_name_user_role_and_logout(services, admin, monkeypatch):
    services.settings.update_general(admin, appName="Free Care")
    app = App(services, admin, live=False)
    assert "Free Care" in app.brand.value
    assert "admin@free.com" in app.user_label.value and "admin" in app.user_label.value
    assert 'href="/hub/logout"' in app.logout_link.value
    monkeypatch.setenv("JUPYTERHUB_BASE_URL", "/dallosh/")
    assert logout_url() == "/dallosh/hub/logout"


def test_navigation_swaps_views_inside_the_kernel_and_keeps_them(services, analyst):
    app = App(services, analyst, view="overview", live=False)
    overview = app.view
    app.navigate("datasets")
    assert [is_visible(c) for c in app.content.children] == [False, True]  # kept in the page, hidden
    assert app.content.children[1] is app.views["datasets"].root
    assert "dl-active" in app.nav_buttons["datasets"]._dom_classes
    assert "dl-active" not in app.nav_buttons["overview"]._dom_classes
    app.navigate("overview")
    assert app.view is overview  # built once, reused
    assert [is_visible(c) for c in app.content.children] == [True, False]
    app.navigate("profile")
    assert app.current == "profile" and "mod-active" in app.profile_button._dom_classes


def test_a_new_view_registers_itself_in_the_sidebar(services, admin, analyst):
    registry.register(ViewSpec("demo", "Demo", "dallosh.ui.profile:ProfileView", 65, ("manage_app",)))
    try:
        assert labels(App(services, admin, live=False))[-3:] == ["Logs", "Demo", "Settings"]
        assert "Demo" not in labels(App(services, analyst, live=False))
    finally:
        registry.VIEWS.pop("demo")


def test_a_broken_view_shows_an_alert_not_a_traceback(services, admin):
    registry.register(ViewSpec("broken", "Broken", "dallosh.ui.nonexistent:Nope", 99))
    try:
        app = App(services, admin, live=False)
        assert app.navigate("broken") is None
        assert app.alert.kind == "error" and "Traceback" not in app.alert.message
        assert app.current == "overview"
    finally:
        registry.VIEWS.pop("broken")


def test_theme_is_applied_at_start_switched_without_reload_and_saved(services, analyst):
    services.auth.update_account(analyst, theme="dark")
    app = App(services, analyst, live=False)
    assert "dl-dark" in app._dom_classes and "dl-app" in app._dom_classes
    assert app.theme_button.description == "☀ Light"
    app.toggle_theme()
    assert "dl-light" in app._dom_classes and "dl-dark" not in app._dom_classes
    assert services.auth.me(analyst).data.theme == "light"
    assert App(services, analyst, live=False).theme == "light"


def test_theme_switch_while_the_background_prefetch_adds_a_view(services, analyst, monkeypatch):
    """The prefetch thread adds views while a click switches the theme: the switch must still apply."""
    app = App(services, analyst, view="overview", live=False)
    themed = []
    overview = app.views["overview"]

    def on_theme_while_a_view_arrives(theme: str) -> None:
        themed.append(theme)
        app._build("datasets")  # what the prefetch thread does, at the worst moment

    monkeypatch.setattr(overview, "on_theme", on_theme_while_a_view_arrives)
    app.toggle_theme()
    assert themed == ["dark"] and f"dl-{app.theme}" in app._dom_classes and app.theme == "dark"
    assert "datasets" in app.views  # positive control: a view really was added during the switch


def test_maintenance_shows_a_banner_on_every_view(services, admin, analyst):
    app = App(services, analyst, live=False)
    assert not is_visible(app.banner)
    services.settings.update_general(admin, isMaintenance=True)
    app.navigate("tasks")
    assert is_visible(app.banner) and "Maintenance" in app.banner.value


def test_show_turns_an_unknown_account_into_a_message(services, monkeypatch):
    import IPython.display

    from dallosh import session
    from dallosh.ui import show

    shown = []
    monkeypatch.setattr(session, "app_services", lambda: services)
    monkeypatch.setattr(IPython.display, "display", shown.append)
    monkeypatch.setenv("JUPYTERHUB_USER", "ghost@free.com")
    assert show("datasets") is None
    (page,) = shown
    assert "No active account" in page.children[1].value
    assert "dl-alert-error" in page.children[1]._dom_classes


def test_show_displays_the_app_once(services, analyst, monkeypatch):
    import IPython.display

    import dallosh.ui
    from dallosh import session

    shown = []
    monkeypatch.setattr(session, "app_services", lambda: services)
    monkeypatch.setattr(IPython.display, "display", shown.append)
    monkeypatch.setenv("JUPYTERHUB_USER", "analyst@free.com")
    monkeypatch.setattr(App, "__init__", _no_live(App.__init__))
    assert dallosh.ui.show("tasks") is None  # a cell ending in show(...) must not display the App twice
    assert shown == [dallosh.ui.current_app] and dallosh.ui.current_app.current == "tasks"


def _no_live(init):
    def wrapped(self, *args, **kwargs):
        kwargs["live"] = False
        init(self, *args, **kwargs)

    return wrapped


@pytest.mark.parametrize("name", sorted(registry.VIEWS))
def test_every_view_opens_for_every_role_allowed(services, admin, analyst, name):
    for actor in (admin, analyst):
        if not registry.get(name).allowed(actor):
            continue
        app = App(services, actor, view=name, live=False)
        assert app.current == name
        assert app.view.alert.kind in ("", "warning"), app.view.alert.message


def test_closed_pages_stop_periodic_work(services, analyst):
    from dallosh.ui.presence import Presence

    presence = Presence()
    assert presence.watched()
    presence.last_seen -= 100
    assert not presence.watched()
    presence.handle({"type": "ping"})
    assert presence.watched()
    app = App(services, analyst, live=False)
    assert app.presence in app.children and app.ctx.watched()  # tests and benchmarks always count as watched


def test_prefetch_builds_the_other_views_hidden(services, admin):
    app = App(services, admin, view="tasks", live=False)
    app.prefetch()
    assert set(app.views) == {spec.name for spec in registry.VIEWS.values() if spec.allowed(admin)}
    shown = [name for name, view in app.views.items() if is_visible(view.root)]
    assert shown == ["tasks"]
    assert app.views["datasets"].page_label.value == "0–0 of 0"  # filled, not just built
    assert app.navigate("datasets").visible and not app.views["tasks"].visible


def test_a_success_message_does_not_follow_the_user_back_to_a_view(services, analyst):
    from dallosh.ui.app import App

    app = App(services, analyst, view="datasets", live=False)
    datasets = app.view
    datasets.alert.success("lot.csv was added (3 rows).")
    app.navigate("tasks")
    app.navigate("datasets")
    assert datasets.alert.kind == "" and datasets.alert.message == ""
    # positive control: an error stays until dealt with
    datasets.alert.error("The file could not be read.")
    app.navigate("tasks")
    app.navigate("datasets")
    assert datasets.alert.kind == "error"


def test_the_default_password_warning_shows_on_every_view_until_changed(services, analyst):
    app = App(services, analyst, view="overview", live=False)
    banner = app.password_banner
    assert is_visible(banner) and "default password" in banner.children[0].value
    for view in ("datasets", "tasks", "analysis"):
        app.navigate(view)
        assert is_visible(banner), view
    banner.children[1].click()  # "Change it in your Profile"
    assert app.current == "profile"
    profile = app.views["profile"]
    assert not is_visible(banner) and profile.default_password_note.kind == "warning"  # the Profile says it itself
    profile.current_password.value = "123456"
    profile.new_password.value = profile.confirm_password.value = "n3w-Passw0rd!"
    profile.change_password()
    assert profile.alert.kind == "success"
    app.navigate("overview")
    assert not is_visible(banner)  # gone everywhere once changed


def test_no_password_warning_for_a_password_of_ones_own(services, analyst, make_actor):
    own = make_actor("view_overview", "read_datasets")  # created with a password of its own
    app = App(services, own, view="overview", live=False)
    assert not is_visible(app.password_banner) and app.ctx.default_password.active is False
    app.navigate("profile")
    assert app.views["profile"].default_password_note.kind == ""
    assert is_visible(App(services, analyst, live=False).password_banner)  # positive control: same app, default

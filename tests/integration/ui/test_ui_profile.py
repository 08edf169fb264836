"""The profile: account, password change, theme preference, confirmed account deletion."""

from __future__ import annotations

import pytest

from dallosh.ui.app import App
from dallosh.ui.components import is_visible
from dallosh.ui.profile import ProfileView


def view_for(ctx, actor) -> ProfileView:
    view = ProfileView(ctx(actor))
    view.on_show()
    return view


def test_shows_the_account_and_warns_about_the_default_password(services, analyst, ctx):
    view = view_for(ctx, analyst)
    assert view.email_input.value == "analyst@free.com"
    assert view.default_password_note.kind == "warning"


def test_save_name(services, analyst, ctx):
    view = view_for(ctx, analyst)
    view.name_input.value = "Awa Diallo"
    view.save_account()
    assert view.alert.kind == "success" and services.auth.me(analyst).data.name == "Awa Diallo"
    view.email_input.value = "admin@free.com"
    view.save_account()
    assert view.alert.kind == "error" and "already exists" in view.alert.message


def test_change_password(services, analyst, ctx):
    view = view_for(ctx, analyst)
    view.current_password.value, view.new_password.value, view.confirm_password.value = "123456", "abc", "abd"
    view.change_password()
    assert "differ" in view.alert.message
    view.current_password.value, view.new_password.value, view.confirm_password.value = "wrong", "n3w-pass-word!", \
        "n3w-pass-word!"
    view.change_password()
    assert view.alert.message == "Your current password is not correct."
    view.current_password.value, view.new_password.value, view.confirm_password.value = "123456", "n3w-pass-word!", \
        "n3w-pass-word!"
    view.change_password()
    assert view.alert.kind == "success" and view.default_password_note.kind == ""
    assert view.current_password.value == ""  # never left in the form
    assert services.auth.login("analyst@free.com", "n3w-pass-word!").email == "analyst@free.com"


def test_theme_choice_applies_to_the_app(services, analyst):
    app = App(services, analyst, view="profile", live=False)
    app.view.theme_choice.value = "dark"
    assert "dl-dark" in app._dom_classes and services.auth.me(analyst).data.theme == "dark"
    app.toggle_theme()
    assert app.view.theme_choice.value == "light"


def test_a_background_refresh_never_undoes_a_theme_switch(services, analyst):
    """The race the UI tests caught (1 run in 3): the top-bar switch to dark while the prefetch thread was still
    building the profile, whose refresh then set its toggle to the saved (older) "light", which applied it."""
    import threading

    app = App(services, analyst, view="overview", live=False)
    profile = app._build("profile")
    app.toggle_theme()  # the user's click
    assert app.theme == "dark"
    stale = threading.Thread(target=profile.show_theme, args=("light",))  # what the prefetch's refresh did
    stale.start()
    stale.join()
    assert app.theme == "dark" and "dl-dark" in app._dom_classes
    assert services.auth.me(analyst).data.theme == "dark"
    profile.refresh()  # inside the App, the profile shows the App's theme, not a saved one a moment behind
    assert profile.theme_choice.value == "dark"
    # positive control: the user's own choice on the profile still applies at once
    profile.theme_choice.value = "light"
    assert app.theme == "light" and services.auth.me(analyst).data.theme == "light"


def test_delete_needs_confirmation_and_password(services, analyst, ctx):
    view = view_for(ctx, analyst)
    assert view.delete_button.disabled
    view.delete_account()
    assert "Tick the confirmation" in view.alert.message
    view.delete_confirm.value = True
    assert not view.delete_button.disabled
    view.delete_password.value = "nope"
    view.delete_account()
    assert view.alert.message == "Your password is not correct." and not view.deleted
    view.delete_password.value = "123456"
    view.delete_account()
    assert view.deleted and view.alert.kind == "success" and "/hub/logout" in view.alert.value
    assert not is_visible(view.account_card) and view.delete_button.disabled
    assert services.users.find_by_email("analyst@free.com") is None


def test_the_last_admin_cannot_leave(services, admin, ctx):
    view = view_for(ctx, admin)
    view.delete_confirm.value = True
    view.delete_password.value = "123456"
    view.delete_account()
    assert "last active administrator" in view.alert.message and not view.deleted


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_profile_radio_reflects_saved_theme(services, analyst, ctx, theme):
    services.auth.update_account(analyst, theme=theme)
    assert view_for(ctx, analyst).theme_choice.value == theme



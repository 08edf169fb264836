"""Profile: name and email, password change, theme preference, and deleting one's own account (confirmed).

Every form calls the account services (``auth.update_account``, ``auth.change_password``,
``auth.delete_account``), which check the password and the last-administrator rule themselves.
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as w

from dallosh.ui.app import logout_url
from dallosh.ui.base import UIContext, View
from dallosh.ui.components import Alert, box, button, card_title_widget, html_widget, human_time, set_visible
from dallosh.ui.html import fragment, macro


class ProfileView(View):
    name = "profile"
    title = "Profile"

    def __init__(self, ctx: UIContext):
        super().__init__(ctx)
        self.deleted = False
        self.default_password: bool | None = None
        self.default_password_note = Alert()
        self.account_info = html_widget("", "dl-muted")
        self.name_input = w.Text(description="Name", placeholder="Your name")
        self.email_input = w.Text(description="Email")
        self.save_button = button("Save", self.save_account, style="primary")
        self.account_card = box([card_title_widget("Account"), self.account_info, self.name_input,
                                 self.email_input,
                                 html_widget("Changing your email changes how you sign in: sign in again with the "
                                             "new address afterwards.", "dl-muted"), self.save_button],
                                "dl-card", "dl-form")

        self.current_password = w.Password(description="Current")
        self.new_password = w.Password(description="New")
        self.confirm_password = w.Password(description="Confirm new")
        self.password_button = button("Change password", self.change_password, style="primary")
        self.password_card = box([card_title_widget("Password"),
                                  html_widget("At least 8 characters, mixing letters with digits or symbols.",
                                              "dl-muted"),
                                  self.current_password, self.new_password, self.confirm_password,
                                  self.password_button], "dl-card", "dl-form")

        self.theme_choice = w.ToggleButtons(options=[("Light", "light"), ("Dark", "dark")], value=ctx.theme,
                                            style={"button_width": "90px"})
        #: Set while this thread shows a theme it did not choose (refresh, the App's switch): not a user's choice.
        self._showing = threading.local()
        self.theme_choice.observe(lambda change: self.choose_theme(change["new"]), "value")
        self.theme_card = box([card_title_widget("Theme"),
                               html_widget("Applied on every page; also switchable from the top bar.", "dl-muted"),
                               self.theme_choice], "dl-card", "dl-form")

        self.delete_password = w.Password(description="Password")
        self.delete_confirm = w.Checkbox(description="I understand that my account is deleted for good",
                                         indent=False, layout=w.Layout(width="auto"))
        self.delete_button = button("Delete my account", self.delete_account, style="danger")
        self.delete_confirm.observe(lambda _c: self._paint_delete(), "value")
        self.delete_card = box([card_title_widget("Delete account"),
                                html_widget("Your datasets and tasks stay for your team. The last administrator "
                                            "cannot delete their account.", "dl-muted"),
                                self.delete_password, self.delete_confirm, self.delete_button], "dl-card", "dl-form")
        self._paint_delete()
        self.set_heading("Profile", "Your account and preferences.")
        self.body.children = [self.default_password_note,
                              box([box([self.account_card, self.theme_card], "dl-col", flex="1 1 420px"),
                                   box([self.password_card, self.delete_card], "dl-col", flex="1 1 420px")],
                                  "dl-row", vertical=False)]

    def refresh(self) -> None:
        if self.deleted:
            return
        with self.guard(clear=False) as g:
            me = self.services.auth.me(self.actor)
            self.default_password = self.ctx.default_password.check()  # the App's banner reads the same answer
        if g.failed:
            return
        default = self.default_password
        self.name_input.value = me.data.name
        self.email_input.value = me.data.email
        last = f" · last sign-in {human_time(me.data.last_login)}" if me.data.last_login else ""
        self.account_info.value = f"Role: {self.actor.role_name or 'none'}{last}"
        # Inside the App, its current theme is the truth for this page (the saved one may be a moment behind a
        # switch made while this view was built in the background).
        self.show_theme(self.ctx.theme if self.ctx.set_theme is not None else me.data.theme)
        if default:
            self.default_password_note.warning("You still use the default password. Change it below before the app "
                                               "is used in production.")
        else:
            self.default_password_note.clear()

    def on_theme(self, theme: str) -> None:
        self.show_theme(theme)

    def show_theme(self, theme: str) -> None:
        """Show ``theme`` as chosen without applying it: a refresh in the background must never switch the App
        back (it did: a user's switch made while this view was being built was undone by the stale value)."""
        if self.theme_choice.value == theme:
            return
        self._showing.active = True
        try:
            self.theme_choice.value = theme
        finally:
            self._showing.active = False

    # -- forms ----------------------------------------------------------------------------------------------

    def save_account(self) -> None:
        changes: dict[str, Any] = {"name": self.name_input.value.strip(), "email": self.email_input.value.strip()}
        with self.guard() as g:
            before = self.services.auth.me(self.actor).data.email
            self.services.auth.update_account(self.actor, **changes)
        if g.failed:
            return
        if changes["email"].lower() != before:
            self.alert.success("Saved. Your sign-in email changed: ",
                               fragment(" {{ link }} and sign in again with the new address.",
                                        link=macro("link", logout_url(), "log out")))
        else:
            self.alert.success("Your account was saved.")

    def change_password(self) -> None:
        if self.new_password.value != self.confirm_password.value:
            self.alert.error("The new password and its confirmation differ. Type them again.")
            return
        with self.guard() as g:
            self.services.auth.change_password(self.actor, self.current_password.value, self.new_password.value)
        for field in (self.current_password, self.new_password, self.confirm_password):
            field.value = ""
        if not g.failed:
            self.alert.success("Your password was changed.")
            self.default_password = False
            self.default_password_note.clear()
            self.ctx.default_password.changed()  # the banner on the other views goes too

    def choose_theme(self, theme: str) -> None:
        """The profile's choice applies to the whole app at once (the App saves it)."""
        if getattr(self._showing, "active", False):
            return
        if self.ctx.set_theme is not None:
            self.ctx.set_theme(theme)
            return
        with self.guard():
            self.services.auth.update_account(self.actor, theme=theme)

    def _paint_delete(self) -> None:
        self.delete_button.disabled = not self.delete_confirm.value or self.deleted

    def delete_account(self) -> None:
        if not self.delete_confirm.value:
            self.alert.error("Tick the confirmation box first.")
            return
        with self.guard() as g:
            self.services.auth.delete_account(self.actor, self.delete_password.value)
        self.delete_password.value = ""
        if g.failed:
            return
        self.deleted = True
        self._paint_delete()
        for card in (self.account_card, self.password_card, self.theme_card):
            set_visible(card, False)
        self.alert.success("Your account was deleted. ", fragment("{{ link }}.",
                                                                   link=macro("link", logout_url(), "Leave the app")))

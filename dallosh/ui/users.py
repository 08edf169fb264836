"""Users and roles (tabs): create, edit, disable, delete users, reset passwords, approve registrations; roles with
permission checkboxes.

Every action is a ``services.users`` / ``services.roles`` call, so permissions, the last-administrator guard rails
and the activity log are the services' business; the view shows their messages. A reader (``read_users`` without
``manage_users``) sees the same lists without any action. Editors and delete confirmations open inline, right
under the row they concern, so they are where the user clicked even on a long page.

The form kit (``Form``, ``ConfirmBar``, ``InlineTable``, ``Tabs``, ``header_row``) is in ``dallosh.ui.forms``, shared
with the settings view.
"""

from __future__ import annotations

import ipywidgets as w

from dallosh.defaults import PERMISSIONS
from dallosh.schemas import Record, RoleData, UserData
from dallosh.ui.base import TabbedView, UIContext
from dallosh.ui.components import (
    badge,
    box,
    button,
    card_title,
    html_widget,
    human_time,
    muted,
    name_cell,
    set_visible,
    text_cells,
)
from dallosh.ui.forms import ConfirmBar, Form, InlineTable, Tabs, header_row
from dallosh.ui.html import fragment, render

PAGE_SIZE = 15
#: What each permission allows, shown next to its checkbox (docs/reference.md says the same at more length).
PERMISSION_HELP: dict[str, str] = {
    "manage_users": "create, edit, disable, approve and delete users; edit roles",
    "manage_datasets": "upload, add and delete datasets",
    "manage_tasks": "start, pause, resume, stop and retry tasks",
    "manage_app": "admin pages: settings, AI models, activity logs",
    "view_overview": "the overview page (KPIs, task counts)",
    "read_users": "see users and roles, read only",
    "read_datasets": "list, preview and download datasets",
    "read_tasks": "list tasks and follow their progress",
    "use_notebooks": "JupyterLab with a private notebooks folder",
    "manage_all_datasets": "delete, run and stop other users' datasets and tasks",
}
STATUS_FAMILY = {"active": "ok", "pending": "warn", "disabled": "idle"}
STATUSES = ("active", "pending", "disabled")
USER_COLUMNS = (("User", "34%"), ("Role", "16%"), ("Status", "13%"), ("Last sign-in", "22%"), ("Created", "15%"))
USER_PARTS = ("62%", "38%")  # text cells, actions
ROLE_PARTS = ("28%", "46%", "8%", "18%")  # name, permissions, users, actions


# -- users ------------------------------------------------------------------------------------------------------


class UserRow:
    """One line of the users table, reused across refreshes."""

    def __init__(self, view: UsersView):
        self.uid, self.email, self.status = "", "", ""
        self.info = html_widget("", "dl-td")
        self.edit_button = button("Edit", lambda: view.open_edit(self.uid), "dl-small")
        self.password_button = button("Password", lambda: view.open_reset(self.uid), "dl-small",
                                      tooltip="Set a new password for this user")
        self.approve_button = button("Approve", lambda: view.approve(self.uid), "dl-small", style="success",
                                     tooltip="Let this registration sign in")
        self.toggle_button = button("Disable", lambda: view.toggle_status(self.uid), "dl-small")
        self.delete_button = button("Delete", lambda: view.ask_delete(self.uid), "dl-small", style="danger")
        actions = box([self.approve_button, self.edit_button, self.password_button, self.toggle_button,
                       self.delete_button], "dl-tight", "dl-actions", vertical=False)
        set_visible(actions, view.can_manage)
        self.info.layout.width, actions.layout.width = USER_PARTS
        self.root = box([self.info, actions], "dl-tr", "dl-user-row", vertical=False)

    def update(self, user: Record[UserData], role_name: str, me: bool) -> None:
        self.uid, self.email, self.status = user.uid, user.data.email, user.data.status
        self.info.value = text_cells([
            name_cell(user.data.email, user.data.name, hover=True, note="(you)" if me else ""),
            role_name or muted("missing role", inline=True),
            badge(user.data.status, STATUS_FAMILY.get(user.data.status, "idle")),
            human_time(user.data.last_login)[:16] or muted("never", inline=True),
            human_time(user.createdAt)[:10]], USER_COLUMNS)
        pending = user.data.status == "pending"
        set_visible(self.approve_button, pending)
        set_visible(self.toggle_button, not pending)
        self.toggle_button.description = "Enable" if user.data.status == "disabled" else "Disable"
        self.toggle_button.tooltip = ("Let this user sign in again" if user.data.status == "disabled"
                                      else "Block sign-in without deleting the account")


class RoleRow:
    def __init__(self, view: UsersView):
        self.uid, self.name = "", ""
        self.name_html = html_widget("", "dl-td", "dl-wrap-cell")
        self.perms_html = html_widget("", "dl-td", "dl-wrap-cell")
        self.count_html = html_widget("", "dl-td")
        self.edit_button = button("Edit", lambda: view.open_role_edit(self.uid), "dl-small")
        self.delete_button = button("Delete", lambda: view.ask_role_delete(self.uid), "dl-small", style="danger")
        actions = box([self.edit_button, self.delete_button], "dl-tight", "dl-actions", vertical=False)
        set_visible(actions, view.can_manage)
        parts = [self.name_html, self.perms_html, self.count_html, actions]
        for part, width in zip(parts, ROLE_PARTS, strict=True):
            part.layout.width = width
        self.root = box(parts, "dl-tr", "dl-role-row", vertical=False)

    def update(self, role: Record[RoleData], users: int | None) -> None:
        self.uid, self.name = role.uid, role.data.name
        self.name_html.value = name_cell(role.data.name, role.data.description)
        self.perms_html.value = render("users_permissions.html", permissions=role.data.permissions,
                                       help=PERMISSION_HELP)
        self.count_html.value = "–" if users is None else f"{users} user{'s' if users != 1 else ''}"


class UsersView(TabbedView):
    name = "users"
    title = "Users"

    def __init__(self, ctx: UIContext):
        super().__init__(ctx)
        self.can_manage = self.can("manage_users")
        self.page = 0
        self.total = 0
        self.roles: list[Record[RoleData]] = []
        self.user_rows: dict[str, UserRow] = {}
        self._user_pool: list[UserRow] = []
        self.role_rows: dict[str, RoleRow] = {}
        self._role_pool: list[RoleRow] = []
        self.editing: str | None = None  # uid of the user in the editor; None = new user
        self.resetting: str | None = None
        self.editing_role: str | None = None

        # users tab
        self.search = w.Text(placeholder="Search email or name", continuous_update=False,
                             layout=w.Layout(width="240px"))
        self.status_filter = w.Dropdown(options=[("Any status", ""), *((s.capitalize(), s) for s in STATUSES)],
                                        layout=w.Layout(width="150px"))
        self.role_filter = w.Dropdown(options=[("Any role", "")], layout=w.Layout(width="160px"))
        self._painting = False  # filter options are repainted by refresh: that must not trigger another refresh
        for control in (self.search, self.status_filter, self.role_filter):
            control.observe(lambda _c: None if self._painting else self.go_to_page(0), "value")
        self.new_button = button("New user", self.open_create, style="primary")
        set_visible(self.new_button, self.can_manage)
        self.refresh_button = button("Refresh", self.refresh)
        self.pending_note = html_widget("", "dl-pending-note")
        self.pending_button = button("Show them", self.show_pending, "dl-small")
        self.pending_bar = box([self.pending_note, self.pending_button], "dl-notice", vertical=False)
        set_visible(self.pending_bar, False)

        self.user_form = Form({
            "email": ("Email", w.Text(placeholder="name@company.com"), ""),
            "name": ("Name", w.Text(placeholder="optional"), ""),
            "role_id": ("Role", w.Dropdown(options=[]), ""),
            "status": ("Status", w.Dropdown(options=[(s.capitalize(), s) for s in STATUSES], value="active"),
                       "Pending and disabled users cannot sign in."),
            "password": ("Password", w.Password(), "At least 8 characters, mixing letters with digits or symbols. "
                                                   "Give it to the user; they change it from their profile."),
        })
        self.user_form_title = html_widget("", "dl-h2")
        self.user_save = button("Create user", self.save_user, style="primary")
        self.user_editor = box([self.user_form_title, self.user_form.root,
                                box([self.user_save, button("Cancel", self.close_user_panels)], "dl-row",
                                    vertical=False)], "dl-card", "dl-inline-panel")

        self.reset_form = Form({
            "password": ("New password", w.Password(), "At least 8 characters, mixing letters with digits or "
                                                       "symbols."),
            "confirm": ("Confirm", w.Password(), ""),
        })
        self.reset_title = html_widget("", "dl-h2")
        self.reset_save = button("Set password", self.save_password, style="primary")
        self.reset_panel = box([self.reset_title, self.reset_form.root,
                                box([self.reset_save, button("Cancel", self.close_user_panels)], "dl-row",
                                    vertical=False)], "dl-card", "dl-inline-panel")
        self.user_confirm = ConfirmBar()
        self.user_confirm_panel = box([self.user_confirm.root], "dl-card", "dl-inline-panel", "dl-danger-panel")
        self.user_confirm.cancel_button.on_click(lambda _b: self.users_table.close())

        self.users_table = InlineTable(header_row([
            (text_cells([label for label, _ in USER_COLUMNS], USER_COLUMNS), USER_PARTS[0]),
            ("Actions" if self.can_manage else "", USER_PARTS[1])]))
        self.users_empty = html_widget(muted("No user matches these filters."))
        self.prev_button = button("‹ Previous", lambda: self.go_to_page(self.page - 1), "dl-small")
        self.next_button = button("Next ›", lambda: self.go_to_page(self.page + 1), "dl-small")
        self.page_label = html_widget("", "dl-muted")
        users_panel = box([
            box([box([self.search, self.status_filter, self.role_filter], "dl-row", vertical=False),
                 box([self.refresh_button, self.new_button], "dl-row", vertical=False)],
                "dl-row", "dl-toolbar", vertical=False, justify_content="space-between"),
            self.pending_bar,
            box([self.users_table.root, self.users_empty,
                 box([self.prev_button, self.page_label, self.next_button], "dl-row", vertical=False,
                     align_items="center")], "dl-card"),
        ], "dl-col")

        # roles tab
        self.permission_boxes = {p: w.Checkbox(description=p, indent=False, layout=w.Layout(width="auto"))
                                 for p in PERMISSIONS}
        perm_grid = box([box([self.permission_boxes[p], html_widget(PERMISSION_HELP.get(p, ""), "dl-field-hint")],
                             "dl-perm")
                         for p in PERMISSIONS], "dl-perm-grid", vertical=False)
        self.role_form = Form({
            "name": ("Name", w.Text(placeholder="e.g. supervisor"), ""),
            "description": ("Description", w.Text(placeholder="optional"), ""),
            "permissions": ("Permissions", perm_grid, ""),
        })
        self.role_form_title = html_widget("", "dl-h2")
        self.role_save = button("Create role", self.save_role, style="primary")
        self.role_editor = box([self.role_form_title, self.role_form.root,
                                box([self.role_save, button("Cancel", self.close_role_panels)], "dl-row",
                                    vertical=False)], "dl-card", "dl-inline-panel")
        self.role_confirm = ConfirmBar()
        self.role_confirm_panel = box([self.role_confirm.root], "dl-card", "dl-inline-panel", "dl-danger-panel")
        self.role_confirm.cancel_button.on_click(lambda _b: self.roles_table.close())
        self.roles_table = InlineTable(header_row([("Role", ROLE_PARTS[0]), ("Permissions", ROLE_PARTS[1]),
                                                   ("Users", ROLE_PARTS[2]),
                                                   ("Actions" if self.can_manage else "", ROLE_PARTS[3])]))
        self.new_role_button = button("New role", self.open_role_create, style="primary")
        set_visible(self.new_role_button, self.can_manage)
        roles_panel = box([
            box([html_widget("A role is a named set of permissions; every user has one. The last role that can "
                             "manage the app cannot lose that permission.", "dl-muted"),
                 self.new_role_button], "dl-row", "dl-toolbar", vertical=False, justify_content="space-between",
                align_items="center"),
            box([self.roles_table.root], "dl-card"),
        ], "dl-col")

        self.tabs = Tabs({"users": ("Users", users_panel), "roles": ("Roles", roles_panel)})
        subtitle = ("Accounts, approvals and roles." if self.can_manage
                    else "Accounts and roles (read only: your role cannot change them).")
        self.set_heading("Users and roles", subtitle)
        self.body.children = [self.tabs.root]

    # -- life cycle -----------------------------------------------------------------------------------------

    def refresh(self) -> None:
        with self.guard(clear=False) as g:
            roles = self.services.roles.list(self.actor)
            page = self.services.users.list(self.actor, search=self.search.value.strip(),
                                            status=self.status_filter.value or None,
                                            role_id=self.role_filter.value or None,
                                            skip=self.page * PAGE_SIZE, limit=PAGE_SIZE)
            pending = self.services.users.list(self.actor, status="pending", limit=1).total
            counts = {r.uid: self.services.users.list(self.actor, role_id=r.uid, limit=1).total for r in roles}
        if g.failed:
            return
        self.roles = roles
        self._paint_role_choices()
        self._paint_users(page.items, page.total)
        self._paint_pending(pending)
        self._paint_roles(counts)

    def role_name(self, role_id: str) -> str:
        return next((r.data.name for r in self.roles if r.uid == role_id), "")

    def _paint_role_choices(self) -> None:
        choices = [(r.data.name, r.uid) for r in self.roles]
        current = self.role_filter.value
        self._painting = True
        try:
            if tuple(self.role_filter.options) != (("Any role", ""), *choices):
                self.role_filter.options = [("Any role", ""), *choices]
            self.role_filter.value = current if current in {uid for _, uid in choices} else ""
        finally:
            self._painting = False
        role_input = self.user_form["role_id"]
        chosen = role_input.value
        role_input.options = choices
        if chosen in {uid for _, uid in choices}:
            role_input.value = chosen

    def _paint_users(self, users: list[Record[UserData]], total: int) -> None:
        self.total = total
        while len(self._user_pool) < len(users):
            self._user_pool.append(UserRow(self))
        self.user_rows = {}
        for row, user in zip(self._user_pool, users, strict=False):
            row.update(user, self.role_name(user.data.role_id), user.uid == self.actor.uid)
            self.user_rows[user.uid] = row
        self.users_table.set_rows([(row.uid, row.root) for row in self._user_pool[:len(users)]])
        set_visible(self.users_empty, not users)
        first = self.page * PAGE_SIZE + 1 if users else 0
        self.page_label.value = f"{first}–{self.page * PAGE_SIZE + len(users)} of {total}"
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = (self.page + 1) * PAGE_SIZE >= total

    def _paint_pending(self, pending: int) -> None:
        self.pending_count = pending
        waiting = "registration is" if pending == 1 else "registrations are"
        self.pending_note.value = fragment("<b>{{ pending }}</b> {{ waiting }} waiting for approval.", pending=pending,
                                           waiting=waiting)
        set_visible(self.pending_bar, bool(pending) and self.can_manage and self.status_filter.value != "pending")

    def _paint_roles(self, counts: dict[str, int]) -> None:
        while len(self._role_pool) < len(self.roles):
            self._role_pool.append(RoleRow(self))
        self.role_rows = {}
        for row, role in zip(self._role_pool, self.roles, strict=False):
            row.update(role, counts.get(role.uid))
            self.role_rows[role.uid] = row
        self.roles_table.set_rows([(row.uid, row.root) for row in self._role_pool[:len(self.roles)]])

    def go_to_page(self, page: int) -> None:
        self.page = max(0, page)
        self.refresh()

    def show_pending(self) -> None:
        self.tabs.select("users")
        self.status_filter.value = "pending"  # observed: back to page 0 and refresh

    # -- user editor ----------------------------------------------------------------------------------------

    def close_user_panels(self) -> None:
        self.users_table.close()
        self.editing = self.resetting = None

    def open_create(self) -> None:
        self.editing, self.resetting = None, None
        form = self.user_form
        form.clear_errors()
        form["email"].value, form["name"].value, form["password"].value = "", "", ""
        form["status"].value = "active"
        analyst = next((r.uid for r in self.roles if r.data.name == "analyst"), None)
        if analyst or form["role_id"].options:
            form["role_id"].value = analyst or form["role_id"].options[0][1]
        form.show_row("password", True)
        self.user_form_title.value = card_title("New user")
        self.user_save.description = "Create user"
        self.users_table.open(None, self.user_editor)

    def open_edit(self, uid: str) -> None:
        with self.guard() as g:
            user = self.services.users.get(self.actor, uid)
        if g.failed:
            return
        self.editing, self.resetting = uid, None
        form = self.user_form
        form.clear_errors()
        form["email"].value, form["name"].value = user.data.email, user.data.name
        if user.data.role_id in {r.uid for r in self.roles}:
            form["role_id"].value = user.data.role_id
        form["status"].value = user.data.status
        form["password"].value = ""
        form.show_row("password", False)
        self.user_form_title.value = card_title(f"Edit {user.data.email}")
        self.user_save.description = "Save changes"
        self.users_table.open(uid, self.user_editor)

    def save_user(self) -> None:
        form = self.user_form
        form.clear_errors()
        values = {"email": form["email"].value.strip(), "name": form["name"].value.strip(),
                  "role_id": form["role_id"].value or "", "status": form["status"].value}
        with self.guard() as g:
            if self.editing is None:
                user = self.services.users.create(self.actor, values["email"], form["password"].value,
                                                  values["role_id"], name=values["name"], status=values["status"])
                done = f"{user.data.email} was created."
            else:
                before = self.services.users.get(self.actor, self.editing)
                changes = {k: v for k, v in values.items() if v != getattr(before.data, k)}
                user = self.services.users.update(self.actor, self.editing, **changes) if changes else before
                done = f"{user.data.email} was saved." if changes else "Nothing changed."
        if g.failed:
            form.report(self, g)
            return
        form["password"].value = ""
        self.close_user_panels()
        self.alert.success(done)
        self.refresh()

    # -- password reset -------------------------------------------------------------------------------------

    def open_reset(self, uid: str) -> None:
        row = self.user_rows.get(uid)
        self.resetting, self.editing = uid, None
        self.reset_form.clear_errors()
        self.reset_form["password"].value = self.reset_form["confirm"].value = ""
        self.reset_title.value = card_title(f"New password for {row.email if row else uid}")
        self.users_table.open(uid, self.reset_panel)

    def save_password(self) -> None:
        form = self.reset_form
        form.clear_errors()
        if form["password"].value != form["confirm"].value:
            form.set_error("confirm", "does not match the new password")
            self.alert.error("Confirm: does not match the new password.")
            return
        uid = self.resetting
        row = self.user_rows.get(uid or "")
        with self.guard() as g:
            self.services.users.reset_password(self.actor, uid or "", form["password"].value)
        form["password"].value = form["confirm"].value = ""
        if g.failed:
            form.report(self, g)
            return
        self.close_user_panels()
        self.alert.success(f"The password of {row.email if row else 'the user'} was changed. Failed sign-in "
                           "attempts were cleared.")

    # -- status, approval, delete ---------------------------------------------------------------------------

    def approve(self, uid: str) -> None:
        with self.guard() as g:
            user = self.services.users.approve(self.actor, uid)
        if not g.failed:
            self.alert.success(f"{user.data.email} was approved and can sign in now.")
            self.refresh()

    def toggle_status(self, uid: str) -> None:
        row = self.user_rows.get(uid)
        status = "active" if row is not None and row.status == "disabled" else "disabled"
        with self.guard() as g:
            user = self.services.users.update(self.actor, uid, status=status)
        if not g.failed:
            self.alert.success(f"{user.data.email} was {'enabled' if status == 'active' else 'disabled'}.")
            self.refresh()

    def ask_delete(self, uid: str) -> None:
        row = self.user_rows.get(uid)
        email = row.email if row else uid
        self.editing = self.resetting = None
        self.user_confirm.ask(fragment("Delete the account <b>{{ email }}</b>? They can no longer sign in and this "
                                       "cannot be undone (their datasets and tasks stay).", email=email),
                              lambda: self.delete_user(uid, email))
        self.users_table.open(uid, self.user_confirm_panel)

    def delete_user(self, uid: str, email: str = "") -> None:
        self.users_table.close()
        with self.guard() as g:
            self.services.users.delete(self.actor, uid)
        if not g.failed:
            self.alert.success(f"{email or 'The user'} was deleted.")
            self.refresh()

    # -- roles ----------------------------------------------------------------------------------------------

    def close_role_panels(self) -> None:
        self.roles_table.close()
        self.editing_role = None

    def _fill_role_form(self, name: str, description: str, permissions: list[str]) -> None:
        self.role_form.clear_errors()
        self.role_form["name"].value, self.role_form["description"].value = name, description
        for perm, checkbox in self.permission_boxes.items():
            checkbox.value = perm in permissions

    def open_role_create(self) -> None:
        self.editing_role = None
        self._fill_role_form("", "", [])
        self.role_form_title.value = card_title("New role")
        self.role_save.description = "Create role"
        self.tabs.select("roles")
        self.roles_table.open(None, self.role_editor)

    def open_role_edit(self, uid: str) -> None:
        with self.guard() as g:
            role = self.services.roles.get(self.actor, uid)
        if g.failed:
            return
        self.editing_role = uid
        self._fill_role_form(role.data.name, role.data.description, role.data.permissions)
        self.role_form_title.value = card_title(f"Edit role {role.data.name}")
        self.role_save.description = "Save role"
        self.roles_table.open(uid, self.role_editor)

    def chosen_permissions(self) -> list[str]:
        return [p for p, checkbox in self.permission_boxes.items() if checkbox.value]

    def save_role(self) -> None:
        form = self.role_form
        form.clear_errors()
        name, description = form["name"].value.strip(), form["description"].value.strip()
        with self.guard() as g:
            if self.editing_role is None:
                role = self.services.roles.create(self.actor, name, self.chosen_permissions(), description)
                done = f"The role {role.data.name} was created."
            else:
                role = self.services.roles.update(self.actor, self.editing_role, name=name, description=description,
                                                  permissions=self.chosen_permissions())
                done = f"The role {role.data.name} was saved; its users have the new permissions at once."
        if g.failed:
            form.report(self, g)
            return
        self.close_role_panels()
        self.alert.success(done)
        self.refresh()

    def ask_role_delete(self, uid: str) -> None:
        row = self.role_rows.get(uid)
        name = row.name if row else uid
        self.editing_role = None
        self.role_confirm.ask(fragment("Delete the role <b>{{ name }}</b>? This cannot be undone.", name=name),
                              lambda: self.delete_role(uid, name))
        self.roles_table.open(uid, self.role_confirm_panel)

    def delete_role(self, uid: str, name: str = "") -> None:
        self.roles_table.close()
        with self.guard() as g:
            self.services.roles.delete(self.actor, uid)
        if not g.failed:
            self.alert.success(f"The role {name or uid} was deleted.")
            self.refresh()

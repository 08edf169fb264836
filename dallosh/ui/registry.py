"""The views the App can show, and who may see them.

Adding a view = write ``dallosh/ui/<name>.py`` with a ``View`` subclass and add one ``ViewSpec`` below. The App
builds the sidebar from this list, filtered by the actor's permissions, in ``order``; modules are imported only
when their view is first shown, so a notebook pays only for the view it opens.

Reserved orders for the views still to come (keep the sidebar order of the issue): users 20, analysis 50,
logs 60, settings 70.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dallosh.services import Actor
    from dallosh.ui.base import View


@dataclass(frozen=True)
class ViewSpec:
    name: str
    label: str
    #: ``module:Class`` of the View subclass (imported lazily).
    target: str
    #: Sidebar position; views are listed in ascending order.
    order: int
    #: The actor needs one of these permissions to see the view (empty = every signed-in user).
    any_of: tuple[str, ...] = ()
    #: False for views reached from the navbar only (profile).
    in_sidebar: bool = True

    def allowed(self, actor: Actor) -> bool:
        return not self.any_of or any(actor.can(p) for p in self.any_of)

    def load(self) -> type[View]:
        module, _, cls = self.target.partition(":")
        return getattr(importlib.import_module(module), cls)


VIEWS: dict[str, ViewSpec] = {}


def register(spec: ViewSpec) -> ViewSpec:
    """Add (or replace) a view."""
    VIEWS[spec.name] = spec
    return spec


def get(name: str) -> ViewSpec | None:
    return VIEWS.get(name)


def sidebar_for(actor: Actor) -> list[ViewSpec]:
    """The sidebar entries this actor may open, in display order."""
    return sorted((s for s in VIEWS.values() if s.in_sidebar and s.allowed(actor)), key=lambda s: s.order)


register(ViewSpec("overview", "Overview", "dallosh.ui.overview:OverviewView", 10, ("view_overview", "manage_app")))
register(ViewSpec("datasets", "Datasets", "dallosh.ui.datasets:DatasetsView", 30,
                  ("read_datasets", "manage_datasets")))
register(ViewSpec("tasks", "Tasks", "dallosh.ui.tasks:TasksView", 40, ("read_tasks", "manage_tasks")))
register(ViewSpec("profile", "Profile", "dallosh.ui.profile:ProfileView", 90, (), in_sidebar=False))
register(ViewSpec("users", "Users", "dallosh.ui.users:UsersView", 20, ("read_users", "manage_users")))
register(ViewSpec("logs", "Logs", "dallosh.ui.logs:LogsView", 60, ("manage_app",)))
register(ViewSpec("settings", "Settings", "dallosh.ui.settings:SettingsView", 70, ("manage_app",)))
register(ViewSpec("analysis", "Analysis", "dallosh.ui.analysis:AnalysisView", 50, ("read_datasets", "manage_datasets")))
register(ViewSpec("alerts", "Alerts", "dallosh.ui.alerts:AlertsView", 55, ("read_datasets", "manage_datasets",
                                                                          "manage_app")))
register(ViewSpec("reports", "Reports", "dallosh.ui.reports:ReportsView", 57, ("read_datasets", "manage_datasets")))

"""The Analysis view in the address: a reload restores it, and "Share this view" gives a link that opens it
for a colleague (``state`` encodes it; the datasets are checked against what the reader may see).

A part of ``AnalysisView`` (a mixin: it reads and sets the view's filter widgets and chips).
"""

from __future__ import annotations

from dataclasses import replace

from dallosh.ui.analysis.state import ViewState, from_fragment
from dallosh.ui.html import fragment


class AddressPart:
    """The address of ``AnalysisView``."""

    # -- the address: reload and share ------------------------------------------------------------------------

    def state(self) -> ViewState:
        return ViewState(
            datasets=self.loaded, date_from=self.date_from.value, date_to=self.date_to.value,
            topic=self.topic.value, sentiment=self.sentiment.value, priority=self.priority.value,
            include_retweets=self.include_retweets.value, include_operator=self.include_operator.value,
            search=self.search.value, drills=self.drills)

    def _publish_state(self) -> None:
        if self.visible:
            self.ctx.set_address_state(self.state().to_fragment() if self.loaded else "")

    def share(self) -> None:
        link = self.ctx.share_link(self.state().to_fragment())
        if not link:
            self.alert.info("This page has no address to share (it is not open in a browser).")
            return
        self.alert.show("info", "Anyone who opens this link sees this view with the datasets they may read:",
                        fragment('<div class="dl-share-link"><input readonly value="{{ link }}"></div>', link=link))

    def apply_address_state(self, fragment_text: str) -> None:
        """A state from the address (a shared link, a reload): choose its datasets, then its filters once loaded.

        The datasets are checked against what this user may read (the picker's list, and each dataset it does not
        list read with this user's permissions).
        """
        wanted, ignored = from_fragment(fragment_text, self.tz)
        self.resolve_unlisted(wanted.datasets)  # older than the picker's list, or analysed since it was read
        readable = tuple(u for u in wanted.datasets if u in self.choices)
        missing = len(wanted.datasets) - len(readable)
        notes = []
        if missing:
            notes.append(f"{missing} dataset{'s' if missing > 1 else ''} of this link "
                         f"{'are' if missing > 1 else 'is'} not available to you (deleted, not analysed yet, or "
                         "not readable with your role).")
        if ignored:
            notes.append("Some filters of this link were not understood and were left out.")
        if notes:
            self.alert.info(" ".join(notes))
        if not readable:
            return
        wanted = replace(wanted, datasets=readable)
        if set(readable) == set(self.loaded):
            self._wanted = None
            self._show_state(wanted)
            self.request("compute")
        else:
            self._wanted = wanted  # shown once its datasets are loaded (``_load``)
            self._set_quietly(self.dataset_select, readable)
            self.request("load")

    def _show_state(self, state: ViewState) -> None:
        """Put a state's filters and chips on the page (the datasets are already loaded)."""
        self._quiet = True
        try:
            self.date_from.value, self.date_to.value = state.date_from, state.date_to
            self.period.value = "custom" if state.date_from or state.date_to else ""
            topics = [v for _, v in self.topic.options]
            self.topic.value = state.topic if state.topic in topics else ""
            self.sentiment.value, self.priority.value = state.sentiment, state.priority
            self.include_retweets.value, self.include_operator.value = (state.include_retweets,
                                                                        state.include_operator)
            self.search.value = state.search
        finally:
            self._quiet = False
        self.drills = state.drills

"""Alert rules (admin-managed, in Settings), their firings, and the episode state of each rule.

A rule watches one metric of the analysed tweets per day or hour (``metric``, ``grain``), compares every period
with a threshold (``k`` standard deviations over the ``window`` periods before it, or a fixed ``value``; above or
below), and fires once per episode: a run of consecutive periods past the threshold. Each field's help text is
declared here once; the Settings form shows it under the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from dallosh.errors import ValidationError
from dallosh.schemas.settings import is_email_address

#: What a rule can watch, in the admins' words (the form's choices and the firings' titles).
METRICS: dict[str, str] = {
    "negative_volume": "Negative tweets",
    "topic_volume": "Tweets about a topic",
    "high_priority": "High-priority tweets",
    "net_sentiment": "Net sentiment",
}
#: Metrics that count tweets (a fixed threshold is a number of tweets; the others are ratios in [-1, 1]).
COUNT_METRICS = ("negative_volume", "topic_volume", "high_priority")
GRAINS = ("day", "hour")
#: Bounds of a rule's numbers: k below 0.5 fires on noise, above 10 never; a window of 3 periods is the least
#: that gives a standard deviation worth the name, 90 days is a season.
K_RANGE = (0.5, 10.0)
WINDOW_RANGE = (3, 90)
#: Longest name, and most recipients of each kind (a rule is not a mailing list).
NAME_MAX = 80
RECIPIENTS_MAX = 20


def _help(text: str, default: Any = None, *, factory: Any = None) -> Any:
    """A field with its help text (what the Settings form shows under it and the docs list)."""
    if factory is not None:
        return field(default_factory=factory, metadata={"help": text})
    return field(default=default, metadata={"help": text})


@dataclass
class AlertRule:
    """One rule's ``data``: what to watch, the threshold, the scope and where to send."""

    name: str = _help("How the rule is called in alerts, e-mails and the Alerts page.", "")
    metric: Literal["negative_volume", "topic_volume", "high_priority", "net_sentiment"] = _help(
        "What is counted per period: negative tweets, tweets about one topic, high-priority tweets, or the net "
        "sentiment ((positive − negative) / (positive + negative), from −1 to +1).", "negative_volume")
    topic: str = _help("The topic watched (only for “Tweets about a topic”).", "")
    grain: Literal["day", "hour"] = _help("Each day or each hour is compared with the ones before it.", "day")
    threshold: Literal["sigma", "fixed"] = _help(
        "Unusual: k standard deviations away from the mean of the previous periods; fixed: a number you give.",
        "sigma")
    k: float = _help("How many standard deviations from the mean make a period unusual (2 = rare, 3 = very "
                     "rare). For numbers of tweets the deviation is taken as at least the square root of the mean, "
                     "so a quiet, flat history does not turn one more tweet into an alert.", 2.0)
    window: int = _help("How many previous periods the mean and standard deviation are taken over (the period "
                        "itself left out); also the baseline of the explanation.", 7)
    value: float = _help("The fixed threshold: a number of tweets, or a net sentiment between −1 and +1.", 0.0)
    direction: Literal["above", "below"] = _help("Fire when the metric goes above the threshold, or below it "
                                                 "(e.g. net sentiment under a floor).", "above")
    scope: Literal["new", "datasets"] = _help(
        "All new data: every dataset whose processing finishes is checked, and one run of episodes spans them (the "
        "same data processed twice does not fire twice); chosen datasets: only these, each with its own episodes.",
        "new")
    datasets: list[str] = _help("The datasets checked (only for “chosen datasets”).", factory=list)
    in_app: bool = _help("Show a notification to signed-in users who may read the datasets.", True)
    emails: list[str] = _help("Addresses that receive the alert by e-mail, one per line.", factory=list)
    webhooks: list[str] = _help("Webhook URLs (Slack or Teams incoming webhooks), one per line. They hold a "
                                "secret: they are shown masked once saved.", factory=list)
    enabled: bool = _help("A disabled rule is kept but not checked.", True)

    def check(self, path: str) -> None:
        self.name = " ".join(self.name.split())
        if not self.name or len(self.name) > NAME_MAX:
            raise ValidationError(f"{path}.name", f"must be 1 to {NAME_MAX} characters")
        self.topic = self.topic.strip()
        if self.metric == "topic_volume" and not self.topic:
            raise ValidationError(f"{path}.topic", "is needed to watch a topic: choose one")
        if self.metric != "topic_volume":
            self.topic = ""
        if self.threshold == "sigma":
            if not K_RANGE[0] <= self.k <= K_RANGE[1]:
                raise ValidationError(f"{path}.k", f"must be between {K_RANGE[0]:g} and {K_RANGE[1]:g}")
        elif self.metric == "net_sentiment" and not -1.0 <= self.value <= 1.0:
            raise ValidationError(f"{path}.value", "must be between −1 and +1 for the net sentiment")
        elif self.metric in COUNT_METRICS and self.value < 0:
            raise ValidationError(f"{path}.value", "must be a number of tweets (0 or more)")
        if not WINDOW_RANGE[0] <= self.window <= WINDOW_RANGE[1]:
            raise ValidationError(f"{path}.window", f"must be between {WINDOW_RANGE[0]} and {WINDOW_RANGE[1]} "
                                                    "periods")
        self.datasets = list(dict.fromkeys(d.strip() for d in self.datasets if d.strip()))
        if self.scope == "datasets" and not self.datasets:
            raise ValidationError(f"{path}.datasets", "must name at least one dataset for “chosen datasets”")
        if self.scope == "new":
            self.datasets = []
        self.emails = list(dict.fromkeys(e.strip().lower() for e in self.emails if e.strip()))
        bad = [e for e in self.emails if not is_email_address(e)]
        if bad:
            raise ValidationError(f"{path}.emails", f"{bad[0]!r} is not an e-mail address such as "
                                                    "name@example.com")
        from dallosh.delivery.webhook import check_url  # http(s), a host, no spaces: the poster's own rule

        self.webhooks = list(dict.fromkeys(check_url(u, f"{path}.webhooks") for u in self.webhooks if u.strip()))
        if any(len(u) > 2000 for u in self.webhooks):
            raise ValidationError(f"{path}.webhooks", "holds an address longer than 2000 characters")
        if len(self.emails) > RECIPIENTS_MAX or len(self.webhooks) > RECIPIENTS_MAX:
            raise ValidationError(f"{path}.{'emails' if len(self.emails) > RECIPIENTS_MAX else 'webhooks'}",
                                  f"may list at most {RECIPIENTS_MAX}")


@dataclass
class AlertFiring:
    """One stored firing: which rule, which period, the value against its threshold and the explanation."""

    rule_id: str
    rule_name: str
    metric: str
    topic: str
    grain: str
    direction: str
    threshold_kind: str
    #: The period, as its naive local start in the app's time zone ("2025-10-20" or "2025-10-20T14:00").
    period: str
    value: float
    threshold: float
    #: Mean and standard deviation of the previous periods (NaN-free: None when not computed).
    mean: float | None = None
    std: float | None = None
    #: The rule's k and window when it fired (the rule may change or go later).
    k: float | None = None
    window: int | None = None
    #: The datasets the numbers come from (uids and their names when it fired).
    datasets: list[str] = field(default_factory=list)
    dataset_names: list[str] = field(default_factory=list)
    #: "*" for "all new data" (one run of episodes), else the dataset's uid (its own episodes).
    scope_key: str = "*"
    #: The task whose end triggered the check.
    task_id: str = ""
    tz: str = "UTC"
    #: ``analytics.spikes.explain_spike`` as plain data (see ``dallosh.alerts.explain``).
    explanation: dict[str, Any] = field(default_factory=dict)
    #: Channels used: announced in the app, and how many e-mails / webhooks were queued (never the addresses).
    in_app: bool = False
    emails_sent: int = 0
    webhooks_sent: int = 0
    delivery_ids: list[str] = field(default_factory=list)
    delivery_error: str = ""


@dataclass
class EpisodeState:
    """Where a rule stands for one scope key: the last period checked, and whether an episode is going on."""

    rule_id: str
    scope_key: str
    #: The last period checked (its naive local start, ISO); "" before the first check.
    through: str = ""
    in_episode: bool = False
    #: The period the current episode fired on ("" when none is going on).
    episode_start: str = ""
    #: Bumped on every save, so two workers finishing together cannot both fire (compare-and-set).
    version: int = 0

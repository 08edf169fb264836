"""Label corrections: an analyst fixes a tweet's sentiment, priority or topic.

Each correction is stored as its own document (who, when, old → new) keyed by the dataset and the tweet id, not
written into the analysed CSV: reprocessing the file rewrites the CSV, and the corrections still apply, because
every reader (dashboards, exports, notebooks) applies ``effective()`` on top of the analysed rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dallosh.defaults import PRIORITIES, SENTIMENTS
from dallosh.errors import NotFound, ValidationError
from dallosh.services.base import Actor, Service, audited
from dallosh.services.files import DATASET_GONE

if TYPE_CHECKING:
    import pandas as pd

COLLECTION = "corrections"
FIELDS = ("sentiment", "priority", "main_topic")


class CorrectionsService(Service):
    def __init__(self, ctx):
        super().__init__(ctx)
        #: file uid → (analysed file's mtime_ns, its tweet ids): read once per version of the file.
        self._ids: dict[str, tuple[int, frozenset[str]]] = {}

    def _tweet_ids(self, file_id: str) -> frozenset[str]:
        """The tweet ids of a dataset's analysed file (a correction must name one of them)."""
        from dallosh.datasets import read_dataset
        from dallosh.storage import ANALYSED

        path = self.ctx.storage.path(ANALYSED, file_id)
        if not path.exists():
            raise NotFound("This dataset has no analysed tweets yet; run its task before correcting labels.")
        version = path.stat().st_mtime_ns
        cached = self._ids.get(file_id)
        if cached is None or cached[0] != version:
            ids = frozenset(read_dataset(path)["id"].astype(str).str.strip())
            cached = self._ids[file_id] = (version, ids)
        return cached[1]

    def _check_value(self, field: str, value: Any) -> Any:
        if field not in FIELDS:
            raise ValidationError("field", f"must be one of {', '.join(FIELDS)}")
        if field == "sentiment":
            value = str(value).strip().lower()
            if value not in SENTIMENTS:
                raise ValidationError("new_value", f"must be one of the sentiments: {', '.join(SENTIMENTS)}")
        elif field == "priority":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValidationError("new_value", "must be a priority: 0, 1 or 2") from None
            if value not in PRIORITIES:
                raise ValidationError("new_value", "must be a priority: 0, 1 or 2")
        else:
            topics = self.ctx.settings.topics()
            value = str(value).strip()
            if value not in topics:
                raise ValidationError("new_value", f"must be one of the topics in Settings: {', '.join(topics)}")
        return value

    @audited("corrections.correct", target=lambda a, k, r: f"files/{a[0]}/{a[1]}")
    def correct(self, actor: Actor, file_id: str, tweet_id: str, field: str, new_value: Any,
                old_value: Any = None) -> dict[str, Any]:
        """Record a correction; the latest one for a (dataset, tweet, field) wins."""
        actor = self.authorize(actor, "manage_datasets")
        if self.db.get("files", file_id) is None:
            raise NotFound(DATASET_GONE)
        tweet_id = str(tweet_id).strip()
        if not tweet_id:
            raise ValidationError("tweet_id", "is required")
        if tweet_id not in self._tweet_ids(file_id):
            raise ValidationError("tweet_id", f"{tweet_id} is not a tweet of this dataset")
        value = self._check_value(field, new_value)
        data = {"file_id": file_id, "tweet_id": tweet_id, "field": field, "new_value": value,
                "old_value": None if old_value is None else str(old_value), "by_email": actor.email}
        return self.db.insert(COLLECTION, data, by=actor.uid)

    #: Tweets one bulk correction may change (a page of the table holds 25; more is a mistake, not a workflow).
    BULK_MAX = 500

    @audited("corrections.correct_many", target=lambda a, k, r: f"files/{a[0]}")
    def correct_many(self, actor: Actor, file_id: str, changes: list[tuple[str, Any]], field: str,
                     new_value: Any) -> int:
        """Give ``field`` the value ``new_value`` on several tweets at once; ``changes`` is ``[(tweet id, old
        value), …]``. All or nothing: one unknown id refuses the whole batch. Returns how many were recorded
        (tweets that already had the value are skipped)."""
        actor = self.authorize(actor, "manage_datasets")
        if self.db.get("files", file_id) is None:
            raise NotFound(f"No dataset with id {file_id}.")
        if not changes:
            raise ValidationError("tweet_id", "is required: select at least one tweet")
        if len(changes) > self.BULK_MAX:
            raise ValidationError("tweet_id", f"must name at most {self.BULK_MAX} tweets at once")
        value = self._check_value(field, new_value)
        known = self._tweet_ids(file_id)
        items = []
        for tweet_id, old_value in changes:
            tweet_id = str(tweet_id).strip()
            if tweet_id not in known:
                raise ValidationError("tweet_id", f"{tweet_id} is not a tweet of this dataset")
            old = None if old_value is None else str(old_value)
            if old == str(value):
                continue
            items.append({"file_id": file_id, "tweet_id": tweet_id, "field": field, "new_value": value,
                          "old_value": old, "by_email": actor.email})
        if items:
            self.db.insert_many(COLLECTION, items, by=actor.uid)
        return len(items)

    def history(self, actor: Actor, file_ids: list[str] | str) -> list[dict[str, Any]]:
        """Every correction of these datasets, oldest first (who, when, old → new); none left out, however many."""
        self.authorize(actor, "read_datasets", "manage_datasets")
        ids = [file_ids] if isinstance(file_ids, str) else list(file_ids)
        docs = self.db.find(COLLECTION, {"data.file_id": {"$in": ids}}, sort=[("createdAt", 1)])
        return [{"uid": d["uid"], "when": d["createdAt"], "by": d["data"].get("by_email", d["createdBy"]),
                 **{k: d["data"][k] for k in ("file_id", "tweet_id", "field", "old_value", "new_value")}}
                for d in docs]

    def effective(self, actor: Actor, file_ids: list[str] | str) -> pd.DataFrame:
        """The corrections to apply (columns id, field, new_value, file_id), latest per tweet and field.

        Feed it to ``dallosh.analytics.apply_corrections``.
        """
        import pandas as pd  # lazily: importing the services must stay cheap for dashboards' start-up

        rows = self.history(actor, file_ids)
        frame = pd.DataFrame(rows, columns=["uid", "when", "by", "file_id", "tweet_id", "field", "old_value",
                                            "new_value"])
        frame = frame.drop_duplicates(["file_id", "tweet_id", "field"], keep="last")
        return frame.rename(columns={"tweet_id": "id"})[["id", "field", "new_value", "file_id", "by", "when",
                                                         "old_value"]].reset_index(drop=True)

    @audited("corrections.revert", method="delete", target=lambda a, k, r: f"corrections/{a[0]}")
    def revert(self, actor: Actor, uid: str) -> None:
        """Undo one correction (the previous one for that tweet and field, if any, applies again)."""
        actor = self.authorize(actor, "manage_datasets")
        if not self.db.delete(COLLECTION, uid):
            raise NotFound(f"No correction with id {uid}.")

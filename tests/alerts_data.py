"""Constructed datasets for the alert tests: quiet days, then a day where negative "panne fibre" tweets pile up.

Shared by the service, job, UI and browser tests (and the benchmark's sanity check), so that every layer is tested
on data whose answer is known: a negative-volume rule with k = 2 over 7 days fires on the spike day, and only
there.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dallosh.defaults import DATASET_COLUMNS

HOSTILE = "<img src=x onerror=alert(1)>"
#: A quiet day: 10 tweets of every kind (4 negative).
QUIET = [
    ("bonjour, ma facture est fausse", "Facturation", "negative", 1),
    ("merci pour la nouvelle offre", "Offres", "positive", 0),
    ("la box redémarre toute seule", "Réseau", "negative", 1),
    ("question sur mon forfait mobile", "Offres", "neutral", 0),
    ("le service client ne répond pas", "Service Client", "negative", 2),
    ("mon abonnement change de prix", "Facturation", "neutral", 0),
    ("super débit ce matin", "Réseau", "positive", 0),
    ("le conseiller était sympa", "Service Client", "positive", 0),
    ("petite coupure hier soir", "Réseau", "negative", 1),
    ("comment résilier mon contrat", "Facturation", "neutral", 0),
]
#: The spike day's extra tweets: 30 negative, high-priority "panne fibre" complaints (the first, the most engaging,
#: with hostile HTML).
SPIKE = [(f"panne fibre à Lyon depuis {k} heures #PanneFibre" + (f" {HOSTILE}" if k == 0 else ""), "Réseau",
          "negative", 2) for k in range(30)]
FIRST_DAY = pd.Timestamp("2025-10-01")


def analysed_rows(quiet_days: int = 9, spike: bool = True, first_id: int = 1) -> pd.DataFrame:
    """The analysed CSV's rows (strings): ``quiet_days`` quiet days, then the spike day (or one more quiet day)."""
    rows = []
    for day in range(quiet_days + 1):
        tweets = QUIET + (SPIKE if spike and day == quiet_days else [])
        for k, (text, topic, sentiment, priority) in enumerate(tweets):
            rows.append({"id": str(1800000000000000000 + first_id * 100000 + day * 1000 + k),
                         "created_at": f"{FIRST_DAY + pd.Timedelta(days=day):%Y-%m-%d} {9 + k % 12:02d}:{k:02d}:00",
                         "full_text": text, "screen_name": f"client{k}", "main_topic": topic, "sentiment": sentiment,
                         "priority": str(priority), "is_operator": "False", "is_retweet": "False",
                         # the hostile tweet is the most engaging: it is one of the three shown
                         "engagement": "50" if HOSTILE in text else str(k % 7), "labelled_by": "builtin"})
    return pd.DataFrame(rows)


def write_analysed(path: Path, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    analysed_rows(**kwargs).to_csv(path, index=False)
    return path


def export_csv(quiet_days: int = 9) -> bytes:
    """The same tweets as an upload (the 22 export columns), for a real task to clean and label."""
    rows = analysed_rows(quiet_days)
    out = pd.DataFrame({c: [""] * len(rows) for c in DATASET_COLUMNS})
    for column in ("id", "created_at", "full_text", "screen_name"):
        out[column] = rows[column]
    out["name"] = rows["screen_name"]
    out["user_id"] = [str(5000 + i) for i in range(len(rows))]
    for column in ("retweet_count", "reply_count", "quote_count", "bookmark_count"):
        out[column] = "0"
    out["favorite_count"] = rows["engagement"]
    out["views_count"] = "10"
    return out.to_csv(index=False).encode("utf-8")

"""An analysed dataset with a known spike, stored through the real services (shared by the report tests)."""

from __future__ import annotations

import csv
import io

from dallosh.storage import ANALYSED
from tests.factories import make_csv

#: A quiet day: 8 customer tweets and one reply of the operator.
QUIET = [
    ("bonjour, ma facture est fausse", "Facturation", "negative", "1"),
    ("bonjour, merci pour la nouvelle offre", "Offres", "positive", "0"),
    ("la box redémarre toute seule", "Réseau", "negative", "2"),
    ("question sur mon forfait mobile", "Offres", "neutral", "0"),
    ("le service client ne répond pas", "Service Client", "negative", "2"),
    ("super débit ce matin", "Réseau", "positive", "0"),
    ("panne fibre chez moi", "Réseau", "negative", "2"),
    ("comment résilier mon contrat", "Facturation", "neutral", "1"),
]
#: 20 October 2025: 12 more tweets about a fibre outage.
SPIKE_DAY = 20
EXTRA = [(f"panne fibre {k} à Paris #PanneFree", "Réseau", "negative", "2") for k in range(12)]
COLUMNS = ["id", "created_at", "full_text", "screen_name", "sentiment", "priority", "main_topic", "is_operator",
           "is_retweet", "engagement", "in_reply_to"]


def analysed_csv() -> str:
    """1–21 October 2025 (UTC, 10:00–17:59), spike on the 20th; ids 1DDKK (DD day, KK rank)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for day in range(1, 22):
        tweets = QUIET + (EXTRA if day == SPIKE_DAY else [])
        for k, (text, topic, sentiment, priority) in enumerate(tweets):
            tweet_id = f"1{day:02d}{k:02d}"
            writer.writerow([tweet_id, f"2025-10-{day:02d} {10 + k % 8}:{k:02d}:00", text, f"client{k}", sentiment,
                             priority, topic, "False", "False", str(k), ""])
        writer.writerow([f"9{day:02d}00", f"2025-10-{day:02d} 18:30:00", "@client0 nous regardons cela", "free",
                         "neutral", "0", "Service Client", "True", "False", "0", f"1{day:02d}00"])
    return out.getvalue()


def add_analysed(services, actor, filename: str = "octobre.csv", text: str | None = None):
    """A dataset of ``actor`` whose analysed file is ``text`` (default :func:`analysed_csv`)."""
    file, _ = services.files.add(actor, filename, make_csv(3), allow_duplicate=True)
    path = services.storage.path(ANALYSED, file.uid)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text or analysed_csv(), encoding="utf-8")
    return file

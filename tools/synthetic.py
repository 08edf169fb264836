"""Realistic synthetic tweet exports for tests, demos and benchmarks.

Real exports cannot be committed (personal data), and the shared sample is small and low-variety, so this
module builds exports in the 22-column format with the messiness cleaning has to cope with: French and
English customer tweets about the operator, operator replies and announcements, retweets, exact and
re-scraped duplicates, empty texts, literal ``\\n`` sequences, HTML entities, quoted newlines, accents,
apostrophes, emoji and a heavy-tailed engagement distribution. Everything is drawn from one seeded numpy
generator and assembled with array operations, so 1M rows take ~5 s and a seed always gives the same frame.

CLI: ``python -m tools.synthetic N OUT.csv [--seed S]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dallosh.defaults import DATASET_COLUMNS, DEFAULT_OPERATOR_ACCOUNTS

#: First day of the generated window and its length; the sample export covers a similar autumn period.
START = np.datetime64("2025-09-01T00:00:00", "s")
WINDOW_DAYS = 60
#: Twitter's snowflake epoch (ms): ids are ``(ms - epoch) << 22 | sequence``: 19-digit ids for 2025.
_TWITTER_EPOCH_MS = 1288834974657
_START_MS = int(START.astype("datetime64[ms]").astype(np.int64))

# Phrase banks. Topics follow defaults.DEFAULT_TOPICS plus "praise"; ``{slot}`` names are filled from _SLOTS.
# Characters &, < and > appear on purpose: the export escapes them as HTML entities, like Twitter's API does.
TOPICS: tuple[str, ...] = ("Réseau", "Facturation", "Service Client", "Matériel", "Offres", "praise")
#: Topic mix of ordinary customer tweets, and of tweets written during an outage spike.
_TOPIC_P = np.array([0.30, 0.17, 0.18, 0.15, 0.10, 0.10])
_TOPIC_P_SPIKE = np.array([0.80, 0.02, 0.10, 0.05, 0.01, 0.02])

FR_TEMPLATES: dict[str, tuple[str, ...]] = {
    "Réseau": (
        "Plus de réseau depuis {dur} à {city}, c'est une blague ?",
        "Panne internet depuis {dur} sur ma {box} à {city}. Toujours rien…",
        "Fibre coupée à {city} depuis {dur}, impossible de télétravailler",
        "Débit ridicule ce soir : {slow} Mb/s en fibre, sérieusement ?",
        "Ça fait {dur} que la 4G ne passe plus à {city}",
        "Encore une coupure à {city} ! Ça devient insupportable",
        "Appels qui coupent sans arrêt depuis {dur}, réseau saturé à {city}",
        "La 5G à {city} c’est juste le logo : {slow} Mb/s",
        "Internet & TV coupés depuis {dur} à {city}, on fait comment ?",
        "Ping > {ping} ms en fibre depuis {dur}, impossible de jouer",
        "Box qui clignote en rouge depuis {dur}, plus d'internet ni de téléphone",
        "Panne générale à {city} ? Plus rien depuis {hour}h",
    ),
    "Facturation": (
        "Prélevé {amt} € ce mois-ci au lieu de {amt2} €, pourquoi ?",
        "Facture de {amt} € pour un forfait à {amt2} €, j'attends une explication",
        "Double prélèvement ce mois-ci : {amt} € en trop sur mon compte",
        "Toujours pas remboursé des {amt} € promis il y a {dur}",
        "Hausse de {small} € sur mon forfait sans prévenir, merci pour la fidélité",
        "Frais de résiliation de {amt} € alors que j’étais hors engagement ?",
        "Pourquoi ma facture passe de {amt2} € à {amt} € ? Rien changé à mon forfait",
        "Hors forfait de {amt} € pour des appels « illimités »…",
        "Remboursement & geste commercial promis il y a {dur}, toujours rien",
    ),
    "Service Client": (
        "{mins} min d'attente au 3244 pour finalement être raccroché au nez",
        "Personne ne répond à mes messages depuis {dur}",
        "Le service client m’a promis un rappel il y a {dur}, toujours rien",
        "On me balade de service en service depuis {dur}",
        "Technicien pas venu au rendez-vous de {hour}h, aucune excuse",
        "Ticket ouvert il y a {dur}, statut « en cours »…",
        "Conseiller très aimable mais problème toujours pas résolu après {n} appels",
        "Impossible de joindre quelqu'un : le chat renvoie vers la FAQ -> la FAQ renvoie vers le chat",
    ),
    "Matériel": (
        "Ma {box} redémarre toute seule {n} fois par jour",
        "Le {device} reçu est défectueux, écran noir dès l'allumage",
        "Le Wi-Fi de la {box} décroche toutes les {mins} minutes",
        "{device} bloqué sur la mise à jour depuis {dur}",
        "Toujours pas reçu ma {box}, commandée il y a {dur}",
        "Répéteur Wi-Fi livré sans câble, génial…",
        "Télécommande du {device} qui ne répond plus, on fait comment ?",
        "Ma {box} chauffe énormément & fait un bruit de ventilateur",
    ),
    "Offres": (
        "Pourquoi les nouveaux clients ont {offer} à {amt} € et pas les anciens ?",
        "Le {plan} à {amt} € c'est encore valable ?",
        "Quelqu'un a testé {offer} ? Ça vaut le coup ?",
        "Je compte passer chez vous pour {offer}, le débit est bon à {city} ?",
        "Offre fidélité inexistante, je vais voir ailleurs",
        "Migration vers la {box} possible sans frais pour les anciens abonnés ?",
        "{plan} : {amt} € chez vous vs {amt2} € ailleurs, le choix est vite fait",
    ),
    "praise": (
        "Merci à l'équipe de {city}, fibre installée en {mins} minutes !",
        "Franchement la {box} c'est top, {fast} Mb/s en Wi-Fi",
        "Service client au top aujourd’hui, problème réglé en {mins} min",
        "Réseau impeccable même en vacances à {city}",
        "Le technicien était super sympa et efficace, merci !",
        "{fast} Mb/s en 5G à {city}, je suis bluffé",
        "Client depuis {years} ans et toujours aussi content <3",
    ),
}
EN_TEMPLATES: dict[str, tuple[str, ...]] = {
    "Réseau": (
        "No signal in {city} for {dur_en}, is this a joke?",
        "Internet down for {dur_en} on my {box}. Still nothing.",
        "Fibre outage in {city} & no ETA, I work from home!",
        "Getting {slow} Mb/s on fibre tonight, seriously?",
        "Calls keep dropping in {city} for {dur_en} now",
    ),
    "Facturation": (
        "I was charged €{amt_en} instead of €{amt2_en} this month, why?",
        "Still waiting for my €{amt_en} refund after {dur_en}",
        "Double charge on my account this month, please fix it",
        "My bill went from €{amt2_en} to €{amt_en} with no notice",
    ),
    "Service Client": (
        "Waited {mins} minutes on the phone and got hung up on",
        "Nobody has answered my messages for {dur_en}",
        "The technician never showed up for the {hour}h appointment",
        "Support promised a callback {dur_en} ago, nothing yet",
    ),
    "Matériel": (
        "My {box} reboots by itself {n} times a day",
        "The {device_en} I received is broken, black screen",
        "Wi-Fi on the {box} drops every {mins} minutes",
        "Still haven't received my {box} ordered {dur_en} ago",
    ),
    "Offres": (
        "Is the {plan} at €{amt_en} still available?",
        "Why do new customers get {offer_en} and not loyal ones?",
        "Has anyone tried {offer_en}? Is it worth it?",
        "Thinking about switching for {offer_en}, is the speed good in {city}?",
    ),
    "praise": (
        "Thanks to the team in {city}, fibre installed in {mins} minutes!",
        "Honestly the {box} is great, {fast} Mb/s over Wi-Fi",
        "Support was excellent today, fixed in {mins} min",
        "Customer for {years} years and still happy <3",
    ),
}
_REPLY_TEMPLATES: dict[str, tuple[str, ...]] = {
    "fr": (
        "Bonjour, nous sommes désolés pour la gêne occasionnée. Pouvez-vous nous écrire en DM avec votre "
        "identifiant ?",
        "Bonsoir, un incident est en cours sur {city}, nos équipes sont mobilisées. Retour à la normale "
        "prévu vers {hour}h.",
        "Bonjour, avez-vous essayé de redémarrer votre {box} ? Si le problème persiste, contactez-nous "
        "en privé.",
        "Hello, nous regardons ça tout de suite. Pouvez-vous nous donner votre numéro de ligne en DM ?",
        "Bonjour, votre remboursement de {amt} € a bien été validé, il apparaîtra sous {n} jours.",
        "Bonjour, désolé pour l'attente. Un conseiller vous rappelle aujourd'hui avant {hour}h.",
        "Merci pour votre retour ! Toute l'équipe est ravie que tout fonctionne 😊",
        "Bonjour, un technicien peut passer chez vous dès demain. On vous envoie les créneaux en DM.",
    ),
    "en": (
        "Hello, we're sorry for the inconvenience. Could you DM us your customer ID?",
        "Hi, an incident is ongoing in {city}, our teams are on it. Back to normal around {hour}h.",
        "Hello, have you tried restarting your {box}? If it persists, please DM us.",
        "Thanks for your feedback, the whole team is glad it works 😊",
    ),
}
_ANNOUNCEMENTS: tuple[str, ...] = (
    "🚀 Nouveau : la {box} arrive avec le Wi-Fi 7 ! Plus d'infos sur free.fr",
    "📶 La 5G Free est désormais disponible à {city} !",
    "Incident résolu à {city}, merci pour votre patience 🙏",
    "Maintenance prévue cette nuit à {city} entre 1h et 5h, le service peut être perturbé.",
    "Offre spéciale : {plan} à {amt} € pendant 1 an ⚡ #Free",
    "Mise à jour disponible pour votre {device} : interface plus fluide & corrections de bugs.",
)

#: Cities named in tweets (accents included on purpose).
# fmt: off
_CITIES = (
    "Paris", "Marseille", "Lyon", "Toulouse", "Nice", "Nantes", "Montpellier", "Strasbourg", "Bordeaux",
    "Lille", "Rennes", "Reims", "Saint-Étienne", "Toulon", "Grenoble", "Dijon", "Angers", "Nîmes",
    "Villeurbanne", "Clermont-Ferrand", "Aix-en-Provence", "Brest", "Tours", "Amiens", "Limoges", "Annecy",
    "Perpignan", "Metz", "Besançon", "Orléans", "Rouen", "Mulhouse", "Caen", "Nancy", "Bayonne", "Cannes",
    "Montreuil", "Saint-Denis", "Créteil", "Béziers", "Ajaccio", "Pau", "La Rochelle", "Évry",
)
# fmt: on

_SLOTS: dict[str, tuple[str, ...]] = {
    "city": _CITIES,
    "dur": ("2 jours", "3 jours", "une semaine", "48h", "deux semaines", "10 jours", "5 heures", "un mois"),
    "dur_en": ("2 days", "3 days", "a week", "48 hours", "two weeks", "10 days", "5 hours", "a month"),
    "box": ("Freebox Pop", "Freebox Ultra", "Freebox Delta", "Freebox Révolution", "Freebox Mini 4K"),
    "device": ("Server", "Player Pop", "répéteur Wi-Fi", "décodeur TV", "Player Devialet", "téléphone"),
    "device_en": ("Server", "Player Pop", "Wi-Fi repeater", "TV box", "phone"),
    "plan": ("Forfait Free 5G", "Forfait 2€", "Forfait Série Free", "Forfait 150 Go", "Forfait 350 Go"),
    "offer": (
        "la fibre 8 Gb/s",
        "le forfait 5G 350 Go",
        "la Freebox Ultra",
        "l'option Netflix",
        "Free Family",
    ),
    "offer_en": ("8 Gb/s fibre", "the 350 GB 5G plan", "the Freebox Ultra", "the Netflix option"),
    "slow": ("0,5", "1", "2", "3", "5", "8", "12", "20"),
    "fast": ("300", "500", "800", "940", "1200", "2000", "4000", "6500"),
    "ping": ("150", "200", "300", "500", "900"),
    "mins": ("5", "10", "15", "20", "30", "45", "50"),
    "hour": tuple(str(h) for h in range(8, 21)),
    "n": tuple(str(k) for k in range(3, 21)),
    "years": tuple(str(k) for k in range(2, 22)),
    "small": ("2", "3", "4", "5", "6,99", "10"),
}
#: Euro amounts are drawn per pool entry (not from a fixed list) so billing texts vary.
_AMOUNT_SLOTS = ("amt", "amt2", "amt_en", "amt2_en")

_OPENERS: dict[str, tuple[str, ...]] = {
    "fr_neg": ("", "", "", "", "Bonjour, ", "Sérieusement, ", "Franchement, ", "Allô ? ", "Encore ! "),
    "fr_pos": ("", "", "", "Bonjour, ", "Petit message pour dire : ", "Franchement, "),
    "en_neg": ("", "", "", "Hi, ", "Seriously, ", "Hello, "),
    "en_pos": ("", "", "", "Hi, ", "Just saying: "),
}
_EMOJI_NEG = ("😡", "😤", "🤬", "🙄", "😭", "🤦‍♂️", "🤦‍♀️", "👎", "😩", "💸")
_EMOJI_POS = ("👍", "❤️", "🙏", "😍", "🔥", "💪", "👏🏻")
_HASHTAGS = ("#Free", "#Freebox", "#FreeMobile", "#panne", "#fibre", "#SAV", "#Telco", "#5G")
_MENTIONS = ("", "@free ", "@Freebox ", "@FreeMobile ", "@free_1337 ", "@free @Freebox ")
_MENTION_P = np.array([0.40, 0.25, 0.13, 0.13, 0.05, 0.04])
#: Ways an export joins a body and its trailing emoji/hashtags: plain space, literal escape sequences (some
#: scrapers write ``\\n`` instead of a newline) or a real newline (a quoted newline in the CSV).
_SEPARATORS = (" ", "\\n", "\\n\\n", "\\r\\n", "\n", " \\n ")
_SEPARATOR_P = np.array([0.86, 0.06, 0.03, 0.01, 0.02, 0.02])
_OPENER_BANKS = tuple(_OPENERS[k] for k in ("fr_neg", "fr_pos", "en_neg", "en_pos"))
_ALL_OPENERS = tuple(o for bank in _OPENER_BANKS for o in bank)
_OPENER_OFFSET = np.cumsum([0] + [len(bank) for bank in _OPENER_BANKS])
#: "Bonjour, plus de réseau…" but "Allô ? Plus de réseau…": variant 1 of a pool body is lower-cased.
_OPENER_LOWERS = np.array([o.endswith((", ", ": ")) for o in _ALL_OPENERS], dtype=np.int64)
_HEADS = np.array([m + o for m in _MENTIONS for o in _ALL_OPENERS], dtype=object)
_EMOJIS = _EMOJI_NEG + _EMOJI_POS
_TAIL_TEXTS = ("", *_EMOJIS, *_HASHTAGS, *(f"{e} {t}" for e in _EMOJIS for t in _HASHTAGS))
_N_TAILS = len(_TAIL_TEXTS)
_TAILS = np.array([sep + t if t else "" for sep in _SEPARATORS for t in _TAIL_TEXTS], dtype=object)
#: Whitespace-only or escape-only texts: empty once cleaned.
_EMPTY_TEXTS = ("", " ", "   ", "\\n", " \\n\\n ", "\\t")

# fmt: off
_FIRST_NAMES = (
    "marie", "Lucas", "camille", "Hugo", "lea", "Thomas", "Chloe", "nico", "Sarah", "Julien", "manon",
    "Karim", "Ines", "yanis", "Emma", "Theo", "Clara", "Mehdi", "Sophie", "Antoine", "Lina", "Romain",
    "Jade", "Amine", "pauline", "Kevin", "Anais", "Bastien", "Nadia", "Olivier", "John", "Kate", "Mike",
    "Emily",
)
# fmt: on
#: Handle decorations; "FreeboxFan" and "FreeUser" look like the operator but must never be flagged as it.
_HANDLE_STYLES = ("", "_", ".", "_", "", "Gamer", "FreeboxFan", "FreeUser", "_officiel", "Pro")
_DISPLAY_SUFFIX = ("", "", "", " ✨", " 🇫🇷", " (pas content)", " L.", " M.", " ⚽", " 🎮")

#: Operator accounts: the default list, so cleaning with default settings flags them.
_OPERATOR_SCREEN: tuple[str, ...] = tuple(DEFAULT_OPERATOR_ACCOUNTS)
_KNOWN_OPERATORS = {
    "free": ("Free", "6387752"),
    "freebox": ("Freebox", "117526548"),
    "free_1337": ("Free 1337", "1543629"),
    "freemobile": ("Free Mobile", "2223391"),
}
_OPERATOR_NAME = tuple(_KNOWN_OPERATORS.get(a.casefold(), (a, ""))[0] for a in _OPERATOR_SCREEN)
_OPERATOR_UID = tuple(
    _KNOWN_OPERATORS.get(a.casefold(), ("", str(1_000_000 + 7 * i)))[1]
    for i, a in enumerate(_OPERATOR_SCREEN)
)
_OPERATOR_AVATAR = "https://pbs.twimg.com/profile_images/free_logo_normal.jpg"
_DEFAULT_AVATAR = "https://abs.twimg.com/sticky/default_profile_images/default_profile_normal.png"

#: Diurnal profile (relative tweets per hour, 0h..23h): quiet nights, evening peak.
# fmt: off
_HOUR_W = np.array([
    0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.5, 1.7, 1.6, 1.5,
    1.6, 1.5, 1.4, 1.4, 1.5, 1.7, 2.0, 2.2, 2.3, 2.1, 1.5, 0.8,
])
# fmt: on
#: Share of customer tweets written during outage spikes, and the number of spikes per 60 days.
_SPIKE_SHARE = 0.15
_SPIKES = 4


def _obj(values: Sequence[str] | np.ndarray) -> np.ndarray:
    """An object array of Python strings: ``+`` on such arrays concatenates element-wise at C speed."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values) if not isinstance(values, np.ndarray) else values
    return out


_COUNT_COLUMNS = (
    "favorite_count",
    "retweet_count",
    "bookmark_count",
    "quote_count",
    "reply_count",
    "views_count",
)
_BOOLS = np.array(["False", "True"], dtype=object)
_SMALL_INTS = np.array([str(i) for i in range(10_000)], dtype=object)


def _str_ints(values: np.ndarray) -> np.ndarray:
    """Decimal strings of integers; small ones (most counts) come from a lookup table, ~20x faster."""
    values = np.asarray(values, dtype=np.int64)
    small = (values >= 0) & (values < len(_SMALL_INTS))
    if small.all():
        return _SMALL_INTS[values]
    out = _SMALL_INTS[np.where(small, values, 0)]
    out[~small] = [str(v) for v in values[~small].tolist()]
    return out


def _euros(rng: np.random.Generator, size: int, english: bool) -> list[str]:
    """Plausible bills: mostly 9.99–59.99 with a tail, formatted the French or English way."""
    cents = np.round(rng.lognormal(np.log(30.0), 0.6, size), 2)
    cents = np.clip(cents, 1.99, 899.0)
    texts = [f"{v:.2f}" for v in cents]
    return texts if english else [t.replace(".", ",") for t in texts]


def _escape(text: str) -> str:
    """Twitter escapes only these three characters in ``full_text``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fill(rng: np.random.Generator, templates: Sequence[str], size: int) -> list[str]:
    """Format ``size`` random (template, slot values) combinations; the only Python loop, on a small pool."""
    picks = rng.integers(0, len(templates), size)
    slot_idx = {k: rng.integers(0, len(v), size) for k, v in _SLOTS.items()}
    amounts = {k: _euros(rng, size, k.endswith("_en")) for k in _AMOUNT_SLOTS}
    out = []
    for i in range(size):
        values = {k: _SLOTS[k][slot_idx[k][i]] for k in _SLOTS}
        values.update({k: amounts[k][i] for k in _AMOUNT_SLOTS})
        out.append(_escape(templates[picks[i]].format(**values)))
    return out


def _lower_first(text: str) -> str:
    """Bodies following an opener ("Bonjour, plus de réseau…") start lower-case, except proper nouns."""
    if text[:1].isupper() and not text.startswith(("Freebox", "Free ", "Wi-Fi", "Player", "Server", "I ")):
        return text[0].lower() + text[1:]
    return text


class _Pool:
    """Distinct formatted bodies for each (language, topic), flattened so rows can pick them by index."""

    def __init__(self, rng: np.random.Generator, per_group: int):
        bodies: list[str] = []
        self.offset: list[int] = []
        self.size: list[int] = []
        for bank in (FR_TEMPLATES, EN_TEMPLATES):
            for topic in TOPICS:
                self.offset.append(len(bodies))
                group = _fill(rng, bank[topic], per_group)
                self.size.append(len(group))
                bodies.extend(group)
        # Variants: as written, lower-cased first letter (after an opener), and both again with apostrophes
        # written &#39; (some exporters escape them too).
        lowered = [_lower_first(b) for b in bodies]
        self.variants = np.stack(
            [
                _obj(v)
                for v in (
                    bodies,
                    lowered,
                    [b.replace("'", "&#39;") for b in bodies],
                    [b.replace("'", "&#39;") for b in lowered],
                )
            ]
        )

    def pick(self, rng: np.random.Generator, group: np.ndarray, variant: np.ndarray) -> np.ndarray:
        offset = np.asarray(self.offset)[group]
        size = np.asarray(self.size)[group]
        return self.variants[variant, offset + (rng.random(len(group)) * size).astype(np.int64)]


def _choice(rng: np.random.Generator, options: Sequence[str], size: int, p: np.ndarray | None = None):
    return _obj(options)[rng.choice(len(options), size=size, p=p)]


def _customer_times(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Seconds since START, sorted: weekly/diurnal background plus a few outage bursts; also in_spike."""
    day_w = np.ones(WINDOW_DAYS)
    weekday = (np.arange(WINDOW_DAYS) + 0) % 7  # 2025-09-01 is a Monday
    day_w[weekday >= 5] = 0.85
    day_w *= np.linspace(0.9, 1.1, WINDOW_DAYS)  # slow growth of the account's audience
    days = rng.choice(WINDOW_DAYS, size=size, p=day_w / day_w.sum())
    hours = rng.choice(24, size=size, p=_HOUR_W / _HOUR_W.sum())
    secs = days * 86400 + hours * 3600 + rng.integers(0, 3600, size)

    spike = rng.random(size) < _SPIKE_SHARE
    n_spike = int(spike.sum())
    if n_spike:
        spike_days = rng.choice(np.arange(2, WINDOW_DAYS - 2), size=_SPIKES, replace=False)
        spike_start = spike_days * 86400 + rng.integers(7, 20, _SPIKES) * 3600
        event = rng.choice(_SPIKES, size=n_spike, p=rng.dirichlet(np.full(_SPIKES, 3.0)))
        offset = (rng.gamma(1.5, 2.0, n_spike) * 3600).astype(np.int64)  # burst then decay, mean ~3 h
        secs[spike] = spike_start[event] + offset
    secs = np.minimum(secs, WINDOW_DAYS * 86400 - 1)
    order = np.argsort(secs, kind="stable")
    return secs[order], spike[order]


def _timestamps(secs: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD HH:MM:SS`` strings (the sample's format) by table lookup: datetime formatting is slow."""
    days = np.datetime_as_string(START + np.arange(WINDOW_DAYS + 1).astype("timedelta64[D]"), unit="D")
    day_part = _obj([f"{d} " for d in days])
    tod = np.arange(86400)
    clock = _obj(
        [f"{h:02d}:{m:02d}:{s:02d}" for h, m, s in zip(tod // 3600, tod // 60 % 60, tod % 60, strict=True)]
    )
    return day_part[secs // 86400] + clock[secs % 86400]


def _engagement(rng: np.random.Generator, size: int, scale: float) -> dict[str, np.ndarray]:
    """Heavy-tailed likes (Lomax, most tweets 0–2, a few viral) and correlated other counts."""
    fav = np.minimum(np.floor(rng.pareto(1.3, size) * scale), 500_000).astype(np.int64)
    return {
        "favorite_count": fav,
        "retweet_count": rng.binomial(fav, 0.2),
        "bookmark_count": rng.binomial(fav, 0.05),
        "quote_count": rng.binomial(fav, 0.03),
        "reply_count": rng.binomial(fav, 0.08) + rng.poisson(0.4, size),
        "views_count": fav * rng.integers(20, 150, size) + rng.integers(5, 600, size),
    }


def _snowflake(secs: np.ndarray, rng: np.random.Generator, first_seq: int) -> np.ndarray:
    """19-digit ids that encode the creation time, unique for up to 4M rows per call sequence."""
    ms = _START_MS + secs.astype(np.int64) * 1000 + rng.integers(0, 1000, len(secs))
    seq = (np.arange(len(secs), dtype=np.int64) + first_seq) & 0x3FFFFF
    return ((ms - _TWITTER_EPOCH_MS) << 22) | seq


def _check_share(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")


def generate_tweets(
    n: int,
    seed: int = 0,
    *,
    duplicates: float = 0.01,
    empty: float = 0.005,
    retweets: float = 0.05,
    operator_share: float = 0.03,
    english_share: float = 0.2,
) -> pd.DataFrame:
    """Return ``n`` rows with exactly ``DATASET_COLUMNS``, all ``str``, deterministic for a given ``seed``.

    Shares are of ``n``: ``duplicates`` extra copies of earlier rows (3/4 exact, 1/4 re-scraped with the same
    id and higher counts), ``empty`` customer tweets whose text is blank once cleaned, ``retweets`` and
    ``operator_share`` (replies with ``in_reply_to`` plus a few announcements) of the non-duplicate rows;
    ``english_share`` of customer tweets are in English.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    for name, value in (
        ("duplicates", duplicates),
        ("empty", empty),
        ("retweets", retweets),
        ("operator_share", operator_share),
        ("english_share", english_share),
    ):
        _check_share(name, value)
    if retweets + operator_share >= 1.0:
        raise ValueError("retweets + operator_share must leave room for customer tweets")
    if n == 0:
        return pd.DataFrame({c: pd.Series([], dtype="str") for c in DATASET_COLUMNS})

    rng = np.random.default_rng(seed)
    n_dup = min(round(n * duplicates), n - 1)
    n_base = n - n_dup
    n_rt = round(n_base * retweets)
    n_op = round(n_base * operator_share)
    n_cust = n_base - n_rt - n_op
    if n_cust < 1:
        n_rt, n_op, n_cust = 0, 0, n_base
    n_ann = round(n_op * 0.2) if n_op > 1 else 0
    n_rep = n_op - n_ann
    n_empty = min(round(n * empty), n_cust - 1 if n_rep or n_rt else n_cust)

    pool = _Pool(rng, int(np.clip(n // 40, 40, 3000)))

    # ---- customers
    n_users = max(20, n_cust // 3)
    uidx = np.arange(n_users, dtype=np.int64)
    handles = (
        _obj(_FIRST_NAMES)[uidx % len(_FIRST_NAMES)]
        + _obj(_HANDLE_STYLES)[(uidx // len(_FIRST_NAMES)) % len(_HANDLE_STYLES)]
        + _str_ints((uidx * 7919) % 100_000)
    )
    user_names = (
        _obj([f.capitalize() for f in _FIRST_NAMES])[uidx % len(_FIRST_NAMES)]
        + _obj(_DISPLAY_SUFFIX)[(uidx * 31) % len(_DISPLAY_SUFFIX)]
    )
    user_ids = _str_ints(100_000_000 + (uidx * 2654435761) % 9_000_000_000)
    # Built per user, not per row: string building is the slow part.
    user_urls = "https://twitter.com/" + handles + "/status/"
    has_avatar = (uidx * 13) % 10 < 7
    avatars = np.where(
        has_avatar, "https://pbs.twimg.com/profile_images/" + user_ids + "/avatar_normal.jpg", _DEFAULT_AVATAR
    )
    # Skewed activity: a few users tweet a lot (angry regulars), most tweet once.
    author = np.minimum((n_users * rng.random(n_cust) ** 3).astype(np.int64), n_users - 1)

    c_secs, c_spike = _customer_times(rng, n_cust)  # sorted: the final gathers then walk memory in order
    topic = np.where(
        c_spike,
        rng.choice(len(TOPICS), n_cust, p=_TOPIC_P_SPIKE),
        rng.choice(len(TOPICS), n_cust, p=_TOPIC_P),
    )
    english = rng.random(n_cust) < english_share
    praise = topic == TOPICS.index("praise")
    # Texts are head + body + tail; heads (mention + opener) and tails (separator + emoji/hashtags) come from
    # small precomputed tables, so each row costs two string concatenations.
    bank_of_row = np.where(english, 2, 0) + np.where(praise, 1, 0)
    opener_at = np.zeros(n_cust, dtype=np.int64)
    variant = np.zeros(n_cust, dtype=np.int64)
    for k in range(len(_OPENER_BANKS)):
        mask = bank_of_row == k
        pick = _OPENER_OFFSET[k] + rng.integers(0, len(_OPENER_BANKS[k]), int(mask.sum()))
        opener_at[mask] = pick
        variant[mask] = _OPENER_LOWERS[pick]
    variant[(rng.random(n_cust) < 0.03) & ~english] += 2  # the same body with apostrophes as &#39;
    body = pool.pick(rng, topic + np.where(english, len(TOPICS), 0), variant)
    head = _HEADS[rng.choice(len(_MENTIONS), size=n_cust, p=_MENTION_P) * len(_ALL_OPENERS) + opener_at]

    emoji = np.where(
        praise,
        len(_EMOJI_NEG) + rng.integers(0, len(_EMOJI_POS), n_cust),
        rng.integers(0, len(_EMOJI_NEG), n_cust),
    )
    tag = rng.integers(0, len(_HASHTAGS), n_cust)
    tail_kind = rng.choice(4, size=n_cust, p=[0.35, 0.3, 0.2, 0.15])  # none, emoji, hashtag, both
    tail = np.select(
        [tail_kind == 1, tail_kind == 2, tail_kind == 3],
        [1 + emoji, 1 + len(_EMOJIS) + tag, 1 + len(_EMOJIS) + len(_HASHTAGS) + emoji * len(_HASHTAGS) + tag],
        0,
    )
    sep = rng.choice(len(_SEPARATORS), size=n_cust, p=_SEPARATOR_P)
    text = head + body + _TAILS[sep * _N_TAILS + tail]
    spaces = rng.random(n_cust) < 0.02  # sloppy typing: double spaces, trailing blanks
    text[spaces] = text[spaces] + "  "
    empty_rows = rng.choice(n_cust, size=n_empty, replace=False)
    text[empty_rows] = _choice(rng, _EMPTY_TEXTS, n_empty)

    c_eng = _engagement(rng, n_cust, 1.5)
    boost = c_spike & (topic == 0)
    for key in c_eng:
        c_eng[key][boost] = (c_eng[key][boost] * 1.5).astype(np.int64)
    c_ids = _snowflake(c_secs, rng, 0)
    media = np.full(n_cust, "[]", dtype=object)
    with_media = rng.random(n_cust) < 0.08
    media[with_media] = '["https://pbs.twimg.com/media/F' + _str_ints(c_ids[with_media] % 10**12) + '.jpg"]'
    quoted = np.full(n_cust, "", dtype=object)

    customers = {
        "secs": c_secs,
        "id": c_ids,
        "full_text": text,
        "media": media,
        "screen_name": handles[author],
        "name": user_names[author],
        "profile_image_url": avatars[author],
        "user_id": user_ids[author],
        "url_prefix": user_urls[author],
        "in_reply_to": np.full(n_cust, "", dtype=object),
        "retweeted_status": np.full(n_cust, "", dtype=object),
        "quoted_status": quoted,
        **c_eng,
    }

    # ---- operator replies and announcements
    is_empty = np.zeros(n_cust, dtype=bool)
    is_empty[empty_rows] = True
    non_empty = np.flatnonzero(~is_empty)
    parent = rng.choice(non_empty, size=n_rep, replace=n_rep > len(non_empty))
    r_secs = np.minimum(
        c_secs[parent] + np.maximum(30, rng.lognormal(np.log(40 * 60), 1.2, n_rep)).astype(np.int64),
        WINDOW_DAYS * 86400 - 1,
    )
    r_lang_en = english[parent]
    fr_replies = _obj(_fill(rng, _REPLY_TEMPLATES["fr"], max(40, n_rep // 20)))
    en_replies = _obj(_fill(rng, _REPLY_TEMPLATES["en"], max(20, n_rep // 20)))
    reply_body = np.where(
        r_lang_en,
        en_replies[rng.integers(0, len(en_replies), n_rep)],
        fr_replies[rng.integers(0, len(fr_replies), n_rep)],
    )
    letters = _obj(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    signature = np.where(
        rng.random(n_rep) < 0.7,
        " ^" + letters[rng.integers(0, 26, n_rep)] + letters[rng.integers(0, 26, n_rep)],
        "",
    )
    reply_text = "@" + customers["screen_name"][parent] + " " + reply_body + signature

    announcements = _obj(_fill(rng, _ANNOUNCEMENTS, max(12, n_ann)))
    a_secs = rng.integers(0, WINDOW_DAYS, n_ann) * 86400 + rng.integers(8 * 3600, 20 * 3600, n_ann)
    o_secs = np.concatenate([r_secs, a_secs])
    account = rng.integers(0, len(_OPERATOR_SCREEN), n_op)
    o_eng = _engagement(rng, n_op, 0.6)
    ann_eng = _engagement(rng, n_ann, 20.0)
    for key in o_eng:
        o_eng[key][n_rep:] = ann_eng[key]
    o_ids = _snowflake(o_secs, rng, n_cust)
    operators = {
        "secs": o_secs,
        "id": o_ids,
        "full_text": np.concatenate([reply_text, announcements[rng.integers(0, len(announcements), n_ann)]]),
        "media": np.full(n_op, "[]", dtype=object),
        "screen_name": _obj(_OPERATOR_SCREEN)[account],
        "name": _obj(_OPERATOR_NAME)[account],
        "profile_image_url": np.full(n_op, _OPERATOR_AVATAR, dtype=object),
        "user_id": _obj(_OPERATOR_UID)[account],
        "url_prefix": ("https://twitter.com/" + _obj(_OPERATOR_SCREEN) + "/status/")[account],
        "in_reply_to": np.concatenate([_str_ints(c_ids[parent]), np.full(n_ann, "", dtype=object)]),
        "retweeted_status": np.full(n_op, "", dtype=object),
        "quoted_status": np.full(n_op, "", dtype=object),
        **o_eng,
    }
    if n_ann:  # a few customers quote an announcement
        quoter = np.flatnonzero(rng.random(n_cust) < 0.01)
        target = rng.integers(0, n_ann, len(quoter))
        earlier = a_secs[target] < c_secs[quoter]  # one can only quote what already exists
        quoted[quoter[earlier]] = _str_ints(o_ids[n_rep:][target[earlier]])

    # ---- retweets
    # Retweeted: customer tweets and announcements (indexes into customers ++ operators).
    source = np.concatenate([non_empty, n_cust + n_rep + np.arange(n_ann)])
    orig = source[rng.integers(0, len(source), n_rt)]
    both = {
        k: np.concatenate([customers[k], operators[k]]) for k in ("secs", "id", "full_text", "screen_name")
    }
    rt_secs = np.minimum(
        both["secs"][orig] + rng.lognormal(np.log(2 * 3600), 1.0, n_rt).astype(np.int64),
        WINDOW_DAYS * 86400 - 1,
    )
    retweeter = np.minimum((n_users * rng.random(n_rt) ** 2).astype(np.int64), n_users - 1)
    rt_ids = _snowflake(rt_secs, rng, n_cust + n_op)
    rt_eng = _engagement(rng, n_rt, 0.2)
    retweeted = {
        "secs": rt_secs,
        "id": rt_ids,
        "full_text": "RT @" + both["screen_name"][orig] + ": " + both["full_text"][orig],
        "media": np.full(n_rt, "[]", dtype=object),
        "screen_name": handles[retweeter],
        "name": user_names[retweeter],
        "profile_image_url": avatars[retweeter],
        "user_id": user_ids[retweeter],
        "url_prefix": user_urls[retweeter],
        "in_reply_to": np.full(n_rt, "", dtype=object),
        # Old-style retweets (and some scrapers) leave retweeted_status empty: only the "RT @" prefix tells.
        "retweeted_status": np.where(rng.random(n_rt) < 0.7, _str_ints(both["id"][orig]), ""),
        "quoted_status": np.full(n_rt, "", dtype=object),
        **rt_eng,
    }

    # ---- assemble, sort by time, add duplicates
    blocks = (customers, operators, retweeted)
    cols = {k: np.concatenate([b[k] for b in blocks]) for k in customers}
    order = np.argsort(cols["secs"], kind="stable")

    src = rng.integers(0, n_base, n_dup)
    rescraped = rng.random(n_dup) < 0.25
    rows = np.concatenate([np.arange(n_base), src])
    # Duplicates come from overlapping scrape pages: they land a little after the original.
    key = np.concatenate([np.arange(n_base, dtype=float), src + rng.uniform(0.5, 200.0, n_dup)])
    final = np.argsort(key, kind="stable")
    rows = order[rows[final]]  # one gather per column below, straight from the unsorted blocks
    is_rescrape = np.concatenate([np.zeros(n_base, bool), rescraped])[final]

    # Per original row, so that exact duplicates stay exact: a few blank like counts (some exporters) and
    # the rare tweets the exporting account had liked, retweeted or bookmarked.
    blank_likes = (rng.random(n_base) < 0.002)[rows]
    flags = (rng.random((3, n_base)) < np.array([[0.01], [0.002], [0.005]]))[:, rows]
    out: dict[str, np.ndarray] = {}
    for c in _COUNT_COLUMNS:
        values = cols[c][rows].astype(np.int64)
        if c in ("favorite_count", "views_count"):  # a later scrape sees more likes and views
            values = values + is_rescrape * rng.integers(1, 50, n)
        out[c] = _str_ints(values)
    out["favorite_count"][blank_likes & ~is_rescrape] = ""
    ids = _str_ints(cols["id"][rows])
    created = _timestamps(cols["secs"][rows])
    screen = cols["screen_name"][rows]
    data = {
        "id": ids,
        "created_at": created,
        "full_text": cols["full_text"][rows],
        "media": cols["media"][rows],
        "screen_name": screen,
        "name": cols["name"][rows],
        "profile_image_url": cols["profile_image_url"][rows],
        "user_id": cols["user_id"][rows],
        "in_reply_to": cols["in_reply_to"][rows],
        "retweeted_status": cols["retweeted_status"][rows],
        "quoted_status": cols["quoted_status"][rows],
        "media_tags": np.full(n, "[]", dtype=object),
        **out,
        "favorited": _BOOLS[flags[0].astype(np.int64)],
        "retweeted": _BOOLS[flags[1].astype(np.int64)],
        "bookmarked": _BOOLS[flags[2].astype(np.int64)],
        "url": cols["url_prefix"][rows] + ids,
    }
    return pd.DataFrame({c: pd.Series(data[c], dtype="str", copy=False) for c in DATASET_COLUMNS}, copy=False)


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write an export the way the app expects to read it (UTF-8, comma, minimal quoting, ``\\n`` lines)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tools.synthetic N OUT.csv [--seed S]``: write a synthetic export."""
    parser = argparse.ArgumentParser(prog="python -m tools.synthetic", description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of rows")
    parser.add_argument("out", type=Path, help="CSV file to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--duplicates", type=float, default=0.01)
    parser.add_argument("--empty", type=float, default=0.005)
    parser.add_argument("--retweets", type=float, default=0.05)
    parser.add_argument("--operator-share", type=float, default=0.03)
    parser.add_argument("--english-share", type=float, default=0.2)
    args = parser.parse_args(argv)
    df = generate_tweets(
        args.n,
        args.seed,
        duplicates=args.duplicates,
        empty=args.empty,
        retweets=args.retweets,
        operator_share=args.operator_share,
        english_share=args.english_share,
    )
    path = write_csv(df, args.out)
    print(f"wrote {len(df)} rows to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

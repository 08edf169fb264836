"""The built-in offline analyzer: the "default model" that always answers, with no network.

It is the fallback when an LLM provider fails and the default when no LLM is configured, so it must
never raise for ordinary input, must be fast (pure stdlib, tens of thousands of rows per second) and
must only answer within the allowed labels. It is a transparent lexicon-and-rules labeller for French
and English telecom tweets: general domain vocabulary, not phrases copied from any evaluation file.

Pipeline for one text (identical texts are analysed once per call; the steps below are cached per token,
per whitespace-separated piece and per token sequence, since tweets share most of their words):

1. normalise: lower case, strip accents (``réseau`` == ``reseau``), shorten elongations
   (``nuuuul`` -> ``nuul`` then ``nul`` at lookup), drop URLs and @mentions, split elisions;
2. look tokens up (exact form, then a light stem, then without a glued elision such as ``dattente``),
   plus phrases of up to four tokens;
3. score sentiment with negation scopes, intensifiers, emoji, emoticons and exclamation marks;
4. raise flags (total outage, long duration, money taken, churn, legal, urgency, operator voice);
5. derive priority from the flags and the engagement, and topic from weighted keyword groups mapped
   onto the caller's topic list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from operator import itemgetter

from dallosh.defaults import PAGINATE_ROWS_MAX
from dallosh.errors import ProviderError, ValidationError
from dallosh.llm.base import Label, Provider, Row

# --------------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------------

#: A complaint with this many interactions is publicly visible: it is escalated to priority 2.
ENGAGEMENT_HIGH = 100
#: A non-positive post with this many interactions deserves at least a look (priority 1).
ENGAGEMENT_VIRAL = 1000

# Internal topic groups (mapped onto the caller's topic list by name).
NETWORK, BILLING, SERVICE, HARDWARE, OFFERS, OTHER = range(6)
_GROUPS = (NETWORK, BILLING, SERVICE, HARDWARE, OFFERS)

# Flags carried by lexicon entries.
F_PROBLEM = 1  # something is broken / not as expected
F_OUTAGE = 2  # an outage word (panne, coupure, outage)
F_TOTAL = 4  # totality marker (totale, générale, nothing works)
F_MONEY = 8  # money taken wrongly (double prélèvement, overcharged, arnaque)
F_MONEY_HINT = 16  # a debit word: money taken if the tweet is negative
F_CHURN = 32  # threat to leave / cancel
F_LEGAL = 64  # legal action or regulator
F_URGENT = 128  # explicit urgency
F_WORK = 256  # work blocked (télétravail) when combined with a problem
F_AGENT = 512  # operator voice (replies by the support team)
F_RESOLVED = 1024  # the problem was solved (keeps thanks sincere)
F_REQUEST = 2048  # a question or a request for help
F_NEGATOR = 4096  # negation word
F_INTENS = 8192  # intensifier
F_FUNCTION = 16384  # "works" verbs: negated -> a problem
F_EXPECTED = 32768  # things a customer expects: negated/missing -> a problem
F_CONNECT = 65536  # connectivity nouns: missing -> total outage
F_POLITE = 131072  # thanks/politeness: ignored when the tweet reports an unsolved problem
F_DURATION = 262144  # a duration unit (jours, weeks)
F_COMPETITOR = 524288  # a competitor's name: churn risk when negative

_SEVERE = F_MONEY | F_CHURN | F_LEGAL

# --------------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------------

_PRE = str.maketrans(
    {
        "’": "'", "‘": "'", "`": "'", "´": "'", "œ": "oe", "æ": "ae", "ß": "ss",
        "€": " euro ", "$": " dollar ", "£": " pound ", "&": " et ", "+": " plus ",
        "«": '"', "»": '"',
    }
)
_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_ELONG = re.compile(r"([a-z])\1{2,}")
_TOKEN = re.compile(r"#?[a-z0-9]+|[.;:!?,]")
_BREAKS = frozenset(".;:!?,")
_ELISIONS = frozenset({"d", "l", "j", "m", "s", "c", "qu", "y"})
_NEG_T_HOSTS = frozenset(
    {"don", "can", "won", "isn", "doesn", "didn", "aren", "wasn", "weren", "couldn", "wouldn",
     "shouldn", "haven", "hasn", "hadn", "ain", "mustn"}
)

_NEG_EMOJI = "😡🤬👎😠😤😭😢😞😒🙄💩😩😫🤡😾💔🖕😑😖😣😓😟🥵🤮🤢⛔🚫❌😰😱"
_POS_EMOJI = "😍👍🙏❤♥😊😀😃😄😁🥰😘🤩👏💯🙂☺😎✅💪🎉💙💚💖💜🧡💛😇🥳🤗✨👌🔥🚀"
_EMOJI = re.compile("[" + re.escape(_NEG_EMOJI + _POS_EMOJI) + "]")
_NEG_EMOJI_SET = frozenset(_NEG_EMOJI)
_EMOTICON_POS = re.compile(r"(?:^|\s)(?::-?\)|:-?D|;-?\)|:p|<3|\^\^)(?=\s|$)", re.IGNORECASE)
_EMOTICON_NEG = re.compile(r"(?:^|\s)(?::-?\(|:'\(|:-?/|>:\()(?=\s|$)")


def _fold(text: str) -> str:
    """Lower case and strip accents/emoji so spelling variants meet (réseau/reseau/RÉSEAU)."""
    text = text.lower().translate(_PRE)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text


def _raw_tokens(folded: str) -> list[str]:
    """Word and punctuation tokens of folded text, hashtags still marked with their ``#``."""
    return _TOKEN.findall(_ELONG.sub(r"\1\1", folded).replace("'", " ").replace("-", " "))


def _tokenise(folded: str) -> list[tuple[str, bool]]:
    """Split folded text into (token, is_hashtag); drop bare elisions, turn English n't into "not"."""
    return _clean_tokens(_raw_tokens(folded))


def _clean_tokens(raw: list[str]) -> list[tuple[str, bool]]:
    """(token, is_hashtag) of raw tokens, without bare elisions, with "n't" as "not"."""
    out: list[tuple[str, bool]] = []
    prev = ""
    for tok in raw:
        is_tag = tok[0] == "#"
        if is_tag:
            tok = tok[1:]
        if tok == "t":
            if prev in _NEG_T_HOSTS:
                out.append(("not", False))
        elif tok not in _ELISIONS:
            out.append((tok, is_tag))
        prev = tok
    return out


def _stem(token: str) -> str:
    """A deliberately light FR/EN stemmer: plural, feminine, -ing/-ed; enough to merge inflections."""
    if len(token) > 4 and token[-1] in "sx":
        token = token[:-1]
    if len(token) > 5 and token.endswith("ing"):
        return token[:-3]
    if len(token) > 4 and token.endswith("ed") and not token.endswith("eed"):
        return token[:-2]
    if len(token) > 4 and token.endswith("ee"):
        return token[:-2]
    if len(token) > 4 and token[-1] == "e":
        return token[:-1]
    return token


_RUNS = re.compile(r"(.)\1+", re.DOTALL)


def _squeeze(token: str) -> str:
    """Collapse doubled letters (``nuul`` -> ``nul``) as a last lookup attempt for elongated words."""
    return _RUNS.sub(r"\1", token)


# --------------------------------------------------------------------------------------------------
# Lexicon
# --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    """What one word or phrase contributes: polarity, topic weights and flags."""

    pol: float = 0.0
    topics: tuple[tuple[int, float], ...] = ()
    flags: int = 0


_EXACT: dict[str, _Entry] = {}
_STEMMED: dict[str, _Entry] = {}
_PHRASES: dict[str, _Entry] = {}
#: first stem of every phrase -> the second stems that can follow it: a cheap gate before longer joins.
_PHRASE_NEXT: dict[str, set[str]] = {}
_PHRASE_WORDS: set[str] = set()  # every stem used in a phrase, at any position
_MAX_PHRASE = 4


def _terms(spec: str) -> list[str]:
    return [t.strip() for t in spec.split(",") if t.strip()]


def _merge(
    table: dict[str, _Entry], key: str, pol: float, topic: int | None, weight: float, flags: int
) -> None:
    entry = table.get(key)
    if entry is None:
        entry = table[key] = _Entry()
    if pol and abs(pol) >= abs(entry.pol):
        entry.pol = pol
    if topic is not None:
        entry.topics = (*[t for t in entry.topics if t[0] != topic], (topic, weight))
    entry.flags |= flags


def _add(spec: str, pol: float = 0.0, topic: int | None = None, weight: float = 1.0, flags: int = 0) -> None:
    """Register comma-separated terms (words or phrases, accents allowed) with their contribution."""
    for term in _terms(spec):
        words = [w for w, _ in _tokenise(_fold(term)) if w not in _BREAKS]
        if len(words) == 1:
            _merge(_EXACT, words[0], pol, topic, weight, flags)
            _merge(_STEMMED, _stem(words[0]), pol, topic, weight, flags)
        elif words:
            stems = [_stem(w) for w in words]
            _merge(_PHRASES, " ".join(stems), pol, topic, weight, flags)
            _PHRASE_NEXT.setdefault(stems[0], set()).add(stems[1])
            _PHRASE_WORDS.update(stems)


# ---- sentiment -------------------------------------------------------------------------------------
_add(
    "nul, nulle, nuls, nulles, catastrophique, catastrophe, honteux, honteuse, honte, scandaleux, scandale, "
    "inadmissible, inacceptable, lamentable, pathétique, minable, déplorable, pitoyable, horrible, "
    "ridicule, dégoûté, dégoûtant, écoeuré, furieux, furieuse, énervé, rage, colère, marre, ras le bol, "
    "pire, pourri, merdique, merde, chier, bordel, insupportable, abusif, abusive, exorbitant, "
    "foutage de gueule, incompétent, incompétence, calamiteux, désastreux, désastre, inutilisable, "
    "worst, terrible, awful, disgusting, disgrace, pathetic, useless, garbage, trash, furious, angry, "
    "outrageous, unacceptable, shameful, shame, hate, incompetent, crap, shit, wtf, ridiculous, "
    "horrendous, appalling, nightmare, cauchemar, fed up, sick of, unusable",
    pol=-2,
)
_add(
    "mauvais, mauvaise, déçu, déçue, décevant, décevante, déception, dommage, triste, galère, galérer, "
    "chiant, pénible, bof, médiocre, perdu, perte, retard, mécontent, mécontente, insatisfait, "
    "inquiet, agacé, lassé, fâché, malheureusement, hélas, désolé, limite, moyen, lourd, inadapté, "
    "bad, poor, disappointed, disappointing, disappointment, annoying, annoyed, frustrated, frustrating, "
    "unhappy, unreliable, sadly, unfortunately, upset, mediocre, sucks, meh",
    pol=-1,
)
_add(
    "excellent, excellente, génial, géniale, parfait, parfaite, parfaitement, incroyable, formidable, "
    "extraordinaire, top, au top, bravo, félicitations, impeccable, merveilleux, magnifique, fantastique, "
    "imbattable, adore, j'adore, kiffe, ravi, ravie, enchanté, superbe, exceptionnel, rien à redire, "
    "que du bonheur, trop bien, trop cool, amazing, awesome, perfect, fantastic, wonderful, brilliant, "
    "outstanding, love, loving, superb, excellent service, highly recommend, well done, kudos",
    pol=2,
)
_add(
    "bien, bon, bonne, sympa, cool, efficace, rapide, rapidement, réactif, réactive, réactivité, "
    "stable, fluide, fiable, satisfait, satisfaite, content, contente, heureux, heureuse, agréable, "
    "pratique, simple, facile, nickel, pro, professionnel, aimable, courtois, cordial, gentil, compétent, "
    "efficacité, qualité, plaisir, apprécie, recommande, pas mal, pas cher, génie, chapeau, "
    "good, great, nice, fast, quick, quickly, helpful, happy, glad, pleased, satisfied, reliable, "
    "smooth, easy, recommend, friendly, polite, efficient, stable, not bad, cheap, affordable, like",
    pol=1,
)
_add("grave, trop", flags=F_INTENS)
_add("plus")  # "plus de réseau" (missing), "ça marche plus" (stopped working); handled in _analyse
_add(
    "manque, manquer, manquant, inexistant, inexistante, absent, annulé, annulée, annulation, "
    "injuste, incompréhensible, incohérent, stop, moins bien, pas le droit, une blague, c'est une blague, "
    "du vent, mensonge, menteur, menteurs, trompé, trompeur, "
    "lack, lacking, missing, unfair, misleading, lie, lies, liar, joke, kidding, worse, cancelled, canceled",
    pol=-1.5,
)
_add(
    "meilleur, meilleure, meilleurs, dingue, dinguerie, de malade, de ouf, concluant, transparent, "
    "transparence, sans surprise, économisé, économiser, économie, économies, "
    "compréhensif, compréhensive, à l'écoute, prix cassé, prix cassés, petit prix, "
    "bas prix, pas de frais, sans frais, best, saved, save, saving, savings, worth it, low price, "
    "no fees, understanding, exceptionnelle",
    pol=1.5,
)
_add("super", pol=1, flags=F_INTENS)
_add("pas terrible, not great, not good", pol=-1.5)
_add(
    "merci, thanks, thank, thx, merci beaucoup, merci bien, cordialement, bonne journée, ty",
    pol=1, flags=F_POLITE,
)
_add("merci pour, merci à, thanks for, thank you for, merci infiniment, grand merci", pol=2, flags=F_POLITE)
_add(
    "résolu, résolue, réparé, réparée, rétabli, rétablie, réglé, réglée, revenu, revenue, "
    "fonctionne à nouveau, remarche, geste commercial, dédommagement, remboursement reçu, bien reçu, "
    "résolution, fixed, resolved, solved, restored, back online, sorted, compensation, resolution",
    pol=1.5, flags=F_RESOLVED,
)
_add(
    "très, vraiment, tellement, si, hyper, ultra, complètement, totalement, absolument, carrément, "
    "extrêmement, énormément, franchement, really, very, so, extremely, totally, completely, absolutely, "
    "super, such, incredibly, seriously, truly",
    flags=F_INTENS,
)
_add(
    "ne, n, pas, jamais, aucun, aucune, rien, sans, ni, non, not, no, never, nothing, nobody, none, "
    "without, cannot, neither, nor, doesnt, didnt, isnt, wasnt, arent, werent, cant, wont, havent, "
    "hasnt, couldnt, wouldnt, shouldnt, aint",
    flags=F_NEGATOR,
)

# ---- problems, outages, severity ---------------------------------------------------------------
_add(
    "problème, souci, bug, beug, bugue, buggé, erreur, défaillant, défectueux, cassé, cassée, HS, "
    "hors service, plante, planté, rame, ramer, bloqué, bloquée, impossible, instable, instabilité, "
    "dysfonctionnement, anomalie, plantage, freeze, freezé, figé, gelé, saccade, saccadé, coupé, coupée, "
    "en boucle, redémarre tout seul, redémarre toute seule, ne répond plus, inaccessible, "
    "problem, issue, issues, error, broken, faulty, fail, failed, failing, failure, stuck, crash, "
    "crashed, glitch, keeps dropping, not working, doesn't work, down again, buggy, keeps rebooting, "
    "keeps restarting, keeps disconnecting, keeps crashing, reboot loop, boot loop, redémarre sans cesse, "
    "redémarre en permanence, se déconnecte sans arrêt",
    pol=-1, flags=F_PROBLEM,
)
_add(
    "panne, pannes, coupure, coupures, outage, blackout, interruption, perturbation, incident, "
    "dérangement, down, déconnexion, déconnexions, déconnecté, disconnected, disconnection",
    pol=-1, topic=NETWORK, flags=F_PROBLEM | F_OUTAGE,
)
_add(
    "totale, total, générale, général, complète, complet, entière, entier, massive, nationale, "
    "plus rien, rien ne marche, rien ne fonctionne, tout est coupé, nothing works, nothing is working, "
    "completely down, entire, whole, nationwide",
    flags=F_TOTAL,
)
_add("no service, aucun service, plus de service, pas de service, plus aucun service, no signal",
     pol=-1.5, topic=NETWORK, flags=F_PROBLEM | F_OUTAGE | F_TOTAL)
_add(
    "double prélèvement, prélevé deux fois, prélevé 2 fois, prélevé à tort, débité deux fois, "
    "débité 2 fois, débité à tort, prélèvement abusif, prélèvements abusifs, surfacturation, surfacturé, "
    "trop perçu, facturé deux fois, facturé à tort, charged twice, double charged, overcharged, "
    "took my money, money taken, rendez l'argent, rendez moi mon argent, remboursez, remboursez moi, "
    "jamais remboursé, pas remboursé, toujours pas remboursé, arnaque, arnaqueur, escroc, escroquerie, "
    "voleur, voleurs, vol, racket, scam, scammed, ripoff, rip off, thieves, fraud, fraude",
    pol=-2, topic=BILLING, weight=1.5, flags=F_MONEY,
)
_add(
    "prélevé, prélèvement, prélèvements, débité, débitée, débiter, charged, payé, paye, encaissé",
    topic=BILLING, flags=F_MONEY_HINT,
)
_add(
    "résilier, résilie, résilié, résiliation, je résilie, je vais résilier, changer d'opérateur, "
    "changer de fai, changer de box, voir ailleurs, aller ailleurs, je me casse, je me barre, je quitte, "
    "quitter, je pars, partir chez, passer chez, portabilité, code rio, adieu free, bye bye free, "
    "cancel, cancelling, canceling, cancellation, switch to, switching to, switching provider, "
    "moving to, leaving, go elsewhere, terminate my contract, port my number",
    pol=-1, flags=F_CHURN,
)
_add("orange, sfr, bouygues, bytel, sosh, red by sfr, b and you, prixtel, lebara, vodafone, verizon, "
     "t mobile, at and t", flags=F_COMPETITOR)
_add(
    "plainte, porter plainte, avocat, tribunal, justice, juridique, procès, ufc, que choisir, "
    "dgccrf, arcep, médiateur, signalconso, signal conso, 60 millions, illégal, illégale, légal, "
    "recours, mise en demeure, lettre recommandée, huissier, action de groupe, "
    "lawyer, sue, suing, court, ombudsman, regulator, ofcom, fcc, class action, illegal, legal action",
    pol=-1, flags=F_LEGAL,
)
_add("urgent, urgence, urgemment, au plus vite, asap, emergency, urgently, immediately, vital",
     flags=F_URGENT | F_REQUEST)
_add("télétravail, télétravailler, travailler, boulot, work from home, wfh, remote work, my job, "
     "entreprise, business, professionnel", flags=F_WORK)
_add("jour, jours, journées, semaine, semaines, mois, day, days, week, weeks, month, months",
     flags=F_DURATION)

# ---- requests and operator voice ------------------------------------------------------------------
_add(
    "svp, s'il vous plaît, stp, aide, aidez, aidez-moi, besoin d'aide, une idée, est-ce que, "
    "comment faire, comment on fait, please, plz, pls, help, any idea, anyone else, can you, could you, "
    "how do i, how can i",
    flags=F_REQUEST,
)
_add(
    "contactez-nous, contactez nous, en privé, message privé, en mp, par mp, en dm, par dm, "
    "nos équipes, nos techniciens, nos services, nos conseillers, notre équipe, notre service, "
    "n'hésitez pas, nhésitez pas, nous sommes désolés, nous en sommes désolés, nous vous invitons, "
    "nous vous conseillons, nous revenons vers vous, merci de votre patience, merci pour votre patience, "
    "avez-vous essayé, pouvez-vous nous, nous transmettre, la gêne occasionnée, nous regardons, "
    "we are sorry, we're sorry, our team, our teams, our technicians, dm us, send us, please dm, "
    "we apologize, we apologise, sorry for the inconvenience, thanks for your patience, "
    "we are looking into, we're looking into, reach out to us, navré pour, navrés pour, ce désagrément, "
    "pris en compte, vous contacter, vous recontacter, votre dossier, suivi personnalisé, "
    "prêts à vous aider, prêtes à vous aider, sont sur le coup, nous allons, we will contact you",
    flags=F_AGENT,
)

# ---- functioning verbs and expected things (negated -> problem) ---------------------------------
_add(
    "marche, marchent, fonctionne, fonctionnent, fonctionnel, répond, répondent, capte, charge, "
    "comprend, comprennent, understand, understands, "
    "connecte, s'allume, allume, démarre, work, works, working, respond, responds, load, loads, connect",
    pol=0.3, flags=F_FUNCTION,
)
_add(
    "réponse, retour, rappel, solution, remboursement, suivi, technicien, interlocuteur, service, "
    "answer, response, reply, refund, solution, update, callback",
    flags=F_EXPECTED,
)
_add(
    "réseau, internet, connexion, signal, débit, tonalité, wifi, wi-fi, 4g, 5g, 3g, data, réception, "
    "couverture, ligne, téléphone, télé, tv, appels, network, connection, coverage, "
    "reception, dial tone, phone line, fibre, fiber",
    flags=F_EXPECTED | F_CONNECT,
)

# ---- topics ---------------------------------------------------------------------------------------
_add(
    "réseau, network, internet, connexion, connection, connectivité, connectivity, débit, bande passante, "
    "bandwidth, speed, vitesse, latence, latency, ping, lag, 3g, 4g, 5g, lte, fibre, fiber, "
    "fibre optique, ftth, adsl, vdsl, dsl, signal, couverture, coverage, antenne, antenna, barres, "
    "réception, reception, zone blanche, dead zone, appel coupé, appels coupés, dropped call, "
    "dropped calls, itinérance, mbps, mb/s, gbps, mega, raccordement, raccordé, rétablissement, "
    "rétabli, maintenance, relais, capte, capter, data, navigation, streaming, téléchargement, upload, "
    "download, quartier, secteur, ville, village, campagne, métro, tgv, train",
    topic=NETWORK,
)
_add("lent, lente, lenteur, lenteurs, ralenti, slow, sluggish, instable, unstable, coupe, drops, "
     "déconnecte, saturé, saturation, congestion",
     pol=-1, topic=NETWORK, flags=F_PROBLEM)
_add("rapide, fast, stable, fluide", topic=NETWORK, weight=0.3)
_add("ultra rapide, très haut débit, haut débit", topic=NETWORK)
_add("wifi, wi-fi, ethernet", topic=NETWORK, weight=0.6)

_add(
    "facture, factures, facturation, facturé, facturer, bill, bills, billing, invoice, invoices, "
    "prélèvement, prélevé, débité, paiement, payer, payé, payment, pay, paid, remboursement, rembourser, "
    "remboursé, refund, refunded, frais, fees, fee, montant, somme, euros, euro, dollar, pound, "
    "rib, iban, carte bancaire, coordonnées bancaires, échéance, impayé, impayés, relance, recouvrement, "
    "avoir, compta, comptabilité, mensualité, augmentation, augmenté, hausse, majoration, "
    "price increase, charge, charges, charged, tarif, tarifs, tva, reçu, receipt, direct debit, "
    "frais de résiliation, frais cachés, hidden fees, geste commercial, dédommagement, compensation",
    topic=BILLING,
)
_add("frais", pol=-0.5)
_add("augmentation, augmenté, augmente, hausse, majoration, frais cachés, hidden fees, price increase",
     pol=-1.5)
_add("pas souscrit, pas souscrite, pas souscrites, jamais souscrit, non souscrit, pas demandé, "
     "jamais demandé, never ordered, never subscribed, not ordered, didn't order",
     pol=-1.5, topic=BILLING, flags=F_PROBLEM | F_MONEY_HINT)
_add("cher, chère, chers, trop cher, expensive, pricey, overpriced", pol=-1, topic=OFFERS, weight=0.7)
_add("cher, trop cher, expensive, overpriced", topic=BILLING, weight=0.4)
_add("prix, price, prices, pricing", topic=OFFERS, weight=0.8)
_add("prix, price", topic=BILLING, weight=0.5)

_add(
    "service client, service clients, customer service, customer care, customer support, sav, "
    "conseiller, conseillère, conseillers, advisor, agent, agents, hotline, 3244, 1044, "
    "attente, attendre, attends, waiting, on hold, hold, rappel, rappeler, rappelé, callback, call back, "
    "ticket, tickets, réclamation, réclamations, complaint, dossier, réponse, répondre, répond, répondu, "
    "answer, reply, replied, joindre, injoignable, unreachable, support, assistance, chat, chatbot, "
    "bot, dm, mp, message, messages, mail, email, courrier, boutique, store, accueil, interlocuteur, "
    "raccroche, raccroché, raccrocher, hung up, technicien, technicienne, technician, intervention, "
    "rendez-vous, rdv, appointment, free proxi, espace abonné, personne, quelqu'un, anyone, somebody, "
    "relation client, suivi, promesse, promis, contacter, contacté, contact, appelé, appeler, "
    "opérateur, opératrice, standard, échange",
    topic=SERVICE,
)
_add("injoignable, unreachable, raccroché au nez, hung up on me, toujours en attente, still waiting, "
     "sans réponse, aucune réponse, no answer, no response, ignored, ignoré, ghosté",
     pol=-1.5, topic=SERVICE, weight=1.2, flags=F_PROBLEM)
_add("attente, attendre, waiting, wait", pol=-0.5)
_add("humain, humains, robot, robots, vrai conseiller, une vraie personne, human, real person, "
     "au téléphone, par téléphone, on the phone, by phone, en un appel, appel, call", topic=SERVICE)
_add("service", topic=SERVICE, weight=0.5)
_add("technicien, technician, intervention, rendez-vous", topic=NETWORK, weight=0.4)

_add(
    "box, freebox, routeur, router, modem, décodeur, decoder, player, server, boîtier, ont, "
    "télécommande, remote, téléphone, phone, smartphone, portable, iphone, android, samsung, xiaomi, "
    "pixel, sim, carte sim, esim, e-sim, écran, screen, batterie, battery, chargeur, charger, "
    "disque dur, hard drive, câble, cable, prise, répéteur, répéteurs, repeater, mesh, voyant, led, "
    "firmware, mise à jour, update, redémarre, redémarrer, redémarrage, reboot, restart, reset, "
    "chauffe, surchauffe, overheat, overheating, bruit, bruyant, ventilateur, fan, livraison, colis, "
    "delivery, matériel, hardware, équipement, equipment, appareil, device, "
    "oqee, interface, enregistrement, enregistrements, usb, port, ports, bluetooth, "
    "casque, tablette, ordinateur, pc, console, design, son, image, 4k, hdr, dolby, wifi 7, wifi 6",
    topic=HARDWARE,
)
_add("freebox, free box", topic=HARDWARE, weight=0.4)
# Freebox model names are both devices and subscription plans.
_add("pop, delta, ultra, révolution, mini 4k",
     topic=HARDWARE, weight=0.5)
_add("pop, delta, ultra, révolution, mini 4k",
     topic=OFFERS, weight=0.5)
_add("pas de nouvelles, aucune nouvelle, aucunes nouvelles, sans nouvelles, no news", pol=-1.5,
     topic=SERVICE, flags=F_PROBLEM)
_add("chauffe, surchauffe, overheat, overheating, bruyant, cheap", pol=-1, flags=F_PROBLEM)
_add("cheap", pol=0)  # "ça fait cheap" (FR, poor quality) vs "cheap" (EN, low price): ambiguous

_add(
    "offre, offres, offer, offers, deal, deals, forfait, forfaits, plan, plans, abonnement, abonnements, "
    "subscription, promo, promos, promotion, réduction, remise, discount, engagement, sans engagement, "
    "option, options, go, gb, giga, gigas, illimité, illimitée, unlimited, étranger, abroad, roaming, "
    "europe, fidélité, loyalty, anciens clients, nouveaux clients, parrainage, vente privée, série free, "
    "netflix, disney, canal, amazon prime, prime video, bouquet, chaînes, chaîne, channels, migration, "
    "migrer, upgrade, changer d'offre, souscrire, souscription, inclus, incluse, included, avantage, "
    "avantages, gratuit, gratuite, free trial, essai, catalogue, tarif, tarifs, mois offert, "
    "sans engagement, 2 euros, euros par mois",
    topic=OFFERS,
)
_add("forfait, abonnement", topic=BILLING, weight=0.3)
_add("gratuit, gratuite, inclus, incluse, avantage, avantages, sans engagement, offert, bon plan",
     pol=0.5)

# Internal group names, for mapping the caller's topic list (compared on folded, stemmed words).
_GROUP_NAMES: dict[int, set[str]] = {
    NETWORK: {"reseau", "network", "connexion", "connectivite", "connectivity", "internet", "couverture",
              "coverage", "fibre", "fiber", "signal", "debit", "outage", "panne", "incident", "mobile"},
    BILLING: {"facturation", "facture", "billing", "bill", "invoice", "paiement", "payment", "prelevement",
              "remboursement", "refund", "comptabilite", "finance", "payments", "invoicing"},
    SERVICE: {"service", "sav", "support", "assistance", "hotline", "helpdesk", "conseiller", "accueil",
              "care", "relation", "experience"},
    HARDWARE: {"materiel", "hardware", "equipement", "equipment", "box", "device", "appareil", "terminal",
               "routeur", "router", "modem", "decodeur", "telephone", "phone", "smartphone", "sim",
               "peripherique", "devices", "terminaux"},
    OFFERS: {"offre", "offer", "forfait", "plan", "abonnement", "subscription", "promo", "promotion",
             "pricing", "tarif", "prix", "price", "catalogue", "bundle", "deal", "commercial"},
    OTHER: {"autre", "other", "misc", "divers", "general", "miscellaneous", "inconnu", "unknown"},
}
_GROUP_NAMES = {g: {_stem(w) for w in words} for g, words in _GROUP_NAMES.items()}
_NAME_STOPWORDS = frozenset({"et", "de", "du", "des", "la", "le", "les", "and", "or", "the", "of", "a", "en"})


# --------------------------------------------------------------------------------------------------
# Token lookup
# --------------------------------------------------------------------------------------------------

_LONG_HOURS = re.compile(r"^(\d+)h$")
_DAYS = re.compile(r"^\d+(j|jr|jrs|d)$")


def _lookup(token: str) -> tuple[str, _Entry | None, bool]:
    """Return (stem, entry, negated_by_glued_elision) for one folded token (memoised by _record)."""
    stem = _stem(token)
    entry = _EXACT.get(token) or _STEMMED.get(stem)
    glued_neg = False
    if entry is None:
        squeezed = _squeeze(token)
        if squeezed != token:
            entry = _EXACT.get(squeezed) or _STEMMED.get(_stem(squeezed))
            if entry is not None:
                stem = _stem(squeezed)
    if entry is None and len(token) >= 4:
        # Elisions typed without an apostrophe: "dattente", "lheure", "narrete", "quil".
        rest = token[2:] if token.startswith("qu") else token[1:]
        if token[0] in "dljncq" and len(rest) >= 3:
            entry = _EXACT.get(rest) or _STEMMED.get(_stem(rest))
            if entry is not None:
                stem = _stem(rest)
                glued_neg = token[0] == "n"
    if entry is None:
        if _DAYS.match(token):
            entry = _Entry(flags=F_DURATION)
            stem = "NUM_DAYS"
        else:
            m = _LONG_HOURS.match(token)
            if m and int(m.group(1)) >= 24:
                entry = _Entry(flags=F_DURATION)
                stem = "NUM_DAYS"
    return (stem, entry, glued_neg)


_DURATION_LEADS = frozenset(
    {"depuis", "plusieurs", "des", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "dix",
     "quinze", "quelques", "une", "un", "for", "few", "several", "since", "two", "three", "four", "five",
     "many", "a", "toute", "tout", "entiere", "entier", "whole", "all", "bientot", "presque", "over"}
)


# --------------------------------------------------------------------------------------------------
# Token records, cached per whitespace-separated piece of text
# --------------------------------------------------------------------------------------------------
# Tweets are short and share most of their words, so the costly steps (regexes, folding, lookups) run once
# per distinct piece ("réseau", "@free", "57,74", "😡") instead of once per text. Splitting on whitespace is
# exact: URLs, mentions, emoticons and tokens never span whitespace, and folding keeps whitespace as a
# separator, except for the few characters below, which folding deletes (joining their neighbours): texts
# containing one are analysed whole, as before.

#: Unicode whitespace that ``_fold`` drops instead of keeping as a separator (checked by a unit test).
_FOLD_DROPPED_SPACE = re.compile("[\x85\u1680\u2028\u2029]")

# A record is what the scoring loop needs about one token, in a flat tuple (no attribute lookups there):
# (kind, stem, polarity, flags, weighted topics, glued negation, own stem, is hashtag, phrase gate).
_BREAK, _PLAIN, _LEXICAL, _TOPICAL = 0, 1, 2, 3  # punctuation / unknown word / lexicon word / topic-only word
#: Flags the scoring loop acts on beyond OR-ing them in: words with none of them and no polarity are "topical".
_ACTIVE_FLAGS = F_NEGATOR | F_EXPECTED | F_FUNCTION | F_DURATION | F_INTENS
_Record = tuple[int, str, float, int, tuple[tuple[int, float], ...], bool, str, bool, set[str] | None]
_RECORDS: dict[str, _Record] = {}  # keyed by token, "#" + token for hashtags
_RECORDS_MAX = 200_000


def _make_record(token: str, is_tag: bool) -> _Record:
    """Precompute one token's lookup; topic weights are halved for hashtags here, once."""
    if token in _BREAKS:
        return (_BREAK, token, 0.0, 0, (), False, token, is_tag, None)
    stem, entry, glued = _lookup(token)
    gate = _PHRASE_NEXT.get(stem)
    if entry is None:
        return (_PLAIN, stem, 0.0, 0, (), glued, _stem(token), is_tag, gate)
    w_tag = 0.5 if is_tag else 1.0
    topics = tuple((g, w * w_tag) for g, w in entry.topics)
    kind = _LEXICAL if entry.pol or entry.flags & _ACTIVE_FLAGS or stem == "plus" else _TOPICAL
    return (kind, stem, entry.pol, entry.flags, topics, glued, _stem(token), is_tag, gate)


def _record(token: str, is_tag: bool) -> _Record:
    """The record of a token, memoised: the same words recur in many different pieces."""
    key = "#" + token if is_tag else token
    record = _RECORDS.get(key)
    if record is None:
        if len(_RECORDS) >= _RECORDS_MAX:
            _RECORDS.clear()
        record = _RECORDS[key] = _make_record(token, is_tag)
    return record


_NOT_RECORD = _record("not", False)

#: One piece: (key, token records, emoji score, starts with a bare "t", last raw token or None, coarse key).
#: The key spells the tokens ("#" marks hashtags) and a nonzero emoji score ("~-1 "), so equal keys mean equal
#: scores; the coarse key also merges interchangeable unknown words (see _coarse_token).
_Piece = tuple[str, tuple[_Record, ...], float, bool, str | None, str]
_PIECES: dict[str, _Piece] = {}
_PIECES_MAX = 100_000
_EMPTY_PIECE: _Piece = ("", (), 0.0, False, None, "")
#: Starts the key of a piece whose first token is a bare "t" (see _join_pieces).
_LEAD_T = "\x00"


def _piece(text: str) -> _Piece:
    """Key, records and emoji score of a text: the original whole-text steps, run on one piece."""
    if text.startswith("@") and _MENTION.fullmatch(text):
        return _EMPTY_PIECE  # a bare @mention (many are unique): nothing left once mentions are dropped
    emo = 0.0
    if not text.isascii():
        for ch in _EMOJI.findall(text):
            emo += -1.0 if ch in _NEG_EMOJI_SET else 1.0
    if ":" in text or "<3" in text or "^^" in text:
        emo += len(_EMOTICON_POS.findall(text)) - len(_EMOTICON_NEG.findall(text))
    if "@" in text or "http" in text or "www." in text:
        text = _MENTION.sub(" ", _URL.sub(" ", text))
    raw = _raw_tokens(_fold(text))
    tokens = _clean_tokens(raw)
    raw = [tok.lstrip("#") for tok in raw]
    records = tuple(_record(tok, is_tag) for tok, is_tag in tokens)
    key = "".join(f"#{tok} " if is_tag else f"{tok} " for tok, is_tag in tokens)
    coarse = "".join(_coarse_token(tok, is_tag, rec) for (tok, is_tag), rec in zip(tokens, records, strict=True))
    if emo:
        key += f"~{emo:g} "
        coarse += f"~{emo:g} "
    # A leading "t" was dropped here for want of a previous token: _join_pieces may restore it as "not".
    lead_t = bool(raw) and raw[0] == "t"
    if lead_t:
        key = _LEAD_T + key
        coarse = _LEAD_T + coarse
    return (key, records, emo, lead_t, raw[-1] if raw else None, coarse)


def _coarse_token(token: str, is_tag: bool, record: _Record) -> str:
    """The token as spelled in a coarse key: a placeholder if it cannot matter unless it names a custom topic.

    An unknown word that is in no phrase and leads no duration ("Cannes", "57", "bonjour") only counts tokens
    for negation scopes in _score, and as the word before a duration only through ``isdigit()``, so all such
    words of one kind are interchangeable for a topic list without custom topics.
    """
    stem = record[1]
    if record[0] == _PLAIN and stem not in _PHRASE_WORDS and stem not in _DURATION_LEADS:
        return "%0 " if stem.isdigit() else "%a "  # "%" never occurs in a token
    return f"#{token} " if is_tag else f"{token} "


def _new_piece(chunk: str) -> _Piece:
    """Analyse a piece not seen yet and cache it (the cache is simply emptied when full)."""
    if len(_PIECES) >= _PIECES_MAX:
        _PIECES.clear()
    piece = _PIECES[chunk] = _piece(chunk)
    return piece


def _pieces(text: str) -> list[_Piece]:
    """The cached pieces of a text; the whole text as one piece if folding would join two of them."""
    if not text.isascii() and _FOLD_DROPPED_SPACE.search(text):
        return [_piece(text)]
    chunks = text.split()
    pieces = list(map(_PIECES.get, chunks))  # map/itemgetter keep these per-piece steps in C
    if None in pieces:
        pieces = [piece or _new_piece(chunk) for piece, chunk in zip(pieces, chunks, strict=True)]
    return pieces


_piece_key = itemgetter(0)
_piece_records = itemgetter(1)
_piece_emo = itemgetter(2)
_piece_coarse_key = itemgetter(5)


def _join_pieces(pieces: list[_Piece], coarse: bool = False) -> tuple[str, list[_Record]]:
    """Key (or coarse key) and records of pieces where one starts with a bare "t" (rare): "don 't" -> "don not"."""
    records: list[_Record] = []
    keys: list[str] = []
    prev = ""
    for key, recs, _, lead_t, last, coarse_key in pieces:
        if coarse:
            key = coarse_key
        if lead_t:
            key = key[1:]
            if prev in _NEG_T_HOSTS:
                records.append(_NOT_RECORD)
                keys.append("not ")
        records += recs
        keys.append(key)
        if last is not None:
            prev = last
    return "".join(keys), records


# --------------------------------------------------------------------------------------------------
# Topic plan: the caller's topic list mapped onto the internal groups
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _TopicPlan:
    group_topic: dict[int, str]
    custom: dict[str, tuple[str, ...]]  # stem -> custom topics using that word
    fallback: str
    order: dict[str, int]
    unmapped: tuple[int, ...]  # internal groups no caller topic maps to
    #: token key -> (sentiment, priority, topic, agent): texts that tokenise alike are scored once.
    memo: dict[tuple[str, float, int, bool], tuple[str, int, str, bool]]


def _name_words(name: str) -> list[str]:
    words = [w for w, _ in _tokenise(_fold(name)) if w not in _BREAKS]
    return [_stem(w) for w in words if w not in _NAME_STOPWORDS]


@lru_cache(maxsize=64)
def _plan(topics: tuple[str, ...]) -> _TopicPlan:
    """Map each caller topic to an internal group by name, else to the words of its own name."""
    group_topic: dict[int, str] = {}
    custom: dict[str, list[str]] = {}
    fallback: str | None = None
    for topic in topics:
        words = _name_words(topic)
        if not words:
            continue
        counts = {g: sum(w in names for w in words) for g, names in _GROUP_NAMES.items()}
        best = max(counts, key=lambda g: (counts[g], -g))
        if counts[best] and best == OTHER:
            fallback = fallback or topic
        elif counts[best] and best not in group_topic:
            group_topic[best] = topic
        else:
            for w in words:
                custom.setdefault(w, []).append(topic)
    return _TopicPlan(
        group_topic=group_topic,
        custom={w: tuple(ts) for w, ts in custom.items()},
        fallback=fallback or topics[-1],
        order={t: i for i, t in enumerate(topics)},
        unmapped=tuple(g for g in _GROUPS if g not in group_topic),
        memo={},
    )


# --------------------------------------------------------------------------------------------------
# Text analysis
# --------------------------------------------------------------------------------------------------

#: (sentiment, priority without engagement, topic, operator voice)
_Analysis = tuple[str, int, str, bool]

_RETRO_NEGATORS = frozenset({"pas", "plus", "jamai", "rien"})
_STRIP_FLAGS = ~(F_NEGATOR | F_INTENS | F_EXPECTED | F_FUNCTION)
_STRIP_NEGATED = _STRIP_FLAGS & ~(F_PROBLEM | F_OUTAGE | F_TOTAL | F_CHURN)
_MEMO_MAX = 50_000


def _analyse(text: str, plan: _TopicPlan) -> _Analysis:
    """Label one text (without engagement, which is applied per row).

    The result depends only on the tokens, the emoji score, the number of "!" (up to 3) and whether there is a
    "?", so texts differing only in mentions, URLs, case, accents, spacing (or, without custom topics, in
    interchangeable unknown words such as amounts and place names) are scored once (``plan.memo``).
    """
    raw = text or ""
    pieces = _pieces(raw)
    coarse = not plan.custom  # custom topics are matched on any word: keep every word in the key
    key = "".join(map(_piece_coarse_key if coarse else _piece_key, pieces))
    records = None
    if _LEAD_T in key:
        key, records = _join_pieces(pieces, coarse)
    exclaims = min(raw.count("!"), 3)
    question = "?" in raw
    memo_key = (key, exclaims, question)
    memo = plan.memo
    analysis = memo.get(memo_key)
    if analysis is None:
        if records is None:
            records = list(chain.from_iterable(map(_piece_records, pieces)))
        # Emoji and emoticons were counted on the raw pieces (folding drops them); "~" marks a nonzero score.
        emo = max(-3.0, min(3.0, sum(map(_piece_emo, pieces), 0.0))) if "~" in key else 0.0
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        analysis = memo[memo_key] = _score(records, emo, exclaims, question, plan)
    return analysis


def _score(records: list[_Record], emo: float, exclaims: int, question: bool, plan: _TopicPlan) -> _Analysis:
    """Score token records in one forward pass (the hot loop: records are flat tuples, read once each).

    A token's neighbours are read only through their stem (phrases, duration leads) and polarity (intensifiers):
    _coarse_token relies on this.
    """
    n = len(records)
    topic_scores = [0.0] * (OTHER + 1)  # indexed by group; scores only grow from 0.0
    custom_scores: dict[str, float] = {}
    custom = plan.custom
    flags = 0
    pos = neg = polite = 0.0
    boost = 1.0
    scope = 0  # tokens left in the current negation scope
    plus_scope = 0  # "plus de X": X (an expected thing) is missing
    cover_until = 0  # tokens before this index belong to a polar phrase already counted
    last_function = -2  # index of a non-negated "works" verb, for a trailing "pas" ("marche pas")
    long_duration = False

    for i, (kind, stem, pol, ef, topics, glued, own, is_tag, gate) in enumerate(records):
        if gate is None:
            # Fast paths for tokens that start no phrase (breaks never do): the steps below that can apply.
            if kind == _BREAK:
                scope = plus_scope = 0
                boost = 1.0
                continue
            if kind != _LEXICAL:  # an unknown or a topic-only word
                if kind == _TOPICAL:
                    for g, w in topics:
                        topic_scores[g] += w
                    flags |= ef & (_STRIP_NEGATED if scope > 0 or glued else _STRIP_FLAGS)
                if scope:
                    scope -= 1
                if plus_scope:
                    plus_scope -= 1
                if custom:
                    for t in custom.get(own) or custom.get(stem) or ():
                        custom_scores[t] = custom_scores.get(t, 0.0) + (0.75 if is_tag else 1.5)
                continue
        is_neg = scope > 0 or glued
        if scope:
            scope -= 1
        in_plus = plus_scope > 0
        if plus_scope:
            plus_scope -= 1

        # Phrases of up to four tokens starting here (gate: the next stem can follow this one in a phrase).
        if gate is not None and i >= cover_until and i + 1 < n and records[i + 1][1] in gate:
            stems = [r[1] for r in records[i:i + _MAX_PHRASE]]
            for size in range(len(stems), 1, -1):
                phrase = _PHRASES.get(" ".join(stems[:size]))
                if phrase is None:
                    continue
                pf = phrase.flags
                flags |= pf & _STRIP_FLAGS
                for g, w in phrase.topics:
                    topic_scores[g] += w
                phrase_pol = phrase.pol
                if phrase_pol:
                    cover_until = i + size
                    if is_neg and not pf & (F_MONEY | F_PROBLEM):
                        phrase_pol = -max(phrase_pol, 1.0) if phrase_pol > 0 else -0.5 * phrase_pol
                    if pf & F_POLITE:
                        polite += phrase_pol
                    elif phrase_pol > 0:
                        pos += phrase_pol
                    else:
                        neg -= phrase_pol
                break

        if custom:
            for t in custom.get(own) or custom.get(stem) or ():
                custom_scores[t] = custom_scores.get(t, 0.0) + (0.75 if is_tag else 1.5)
        if kind == _PLAIN:
            continue
        for g, w in topics:
            topic_scores[g] += w
        covered = i < cover_until

        if ef & F_NEGATOR and not covered:
            flags |= F_NEGATOR
            scope = 3
            if last_function == i - 1 and stem in _RETRO_NEGATORS:
                neg += 1.5  # "ça marche pas": the verb before is negated after the fact
                pos -= 0.3
                flags |= F_PROBLEM
            continue
        if stem == "plus":
            plus_scope = 2
            if last_function == i - 1:
                neg += 1.5  # "ça marche plus"
                pos -= 0.3
                flags |= F_PROBLEM
            continue
        if (is_neg or in_plus and ef & F_EXPECTED) and ef & (F_EXPECTED | F_FUNCTION):
            # Something expected is missing or does not work: a problem.
            neg += 1.5 * boost
            flags |= F_PROBLEM
            if ef & F_CONNECT:
                flags |= F_OUTAGE | F_TOTAL
                topic_scores[NETWORK] += 1.0
            boost = 1.0
            continue
        # A negated problem is no problem ("pas de souci", "no issue", "je ne vais pas résilier").
        flags |= ef & (_STRIP_NEGATED if is_neg else _STRIP_FLAGS)
        if ef & F_DURATION:
            lead = records[i - 1][1] if i else ""
            lead2 = records[i - 2][1] if i > 1 else ""
            if lead in _DURATION_LEADS or lead.isdigit() or stem == "NUM_DAYS" or lead2 in _DURATION_LEADS:
                long_duration = True
        if ef & F_INTENS and i + 1 < n and records[i + 1][2]:
            boost = 1.5  # the next token is polar
            continue
        if ef & F_FUNCTION:
            last_function = i
        if not pol or covered:
            continue
        if is_neg:
            pol = -max(pol, 1.0) if pol > 0 else -0.5 * pol
        pol *= boost
        boost = 1.0
        if ef & F_POLITE and not is_neg:
            polite += pol
        elif pol > 0:
            pos += pol
        else:
            neg -= pol

    agent = bool(flags & F_AGENT)
    problem = bool(flags & F_PROBLEM)
    money = bool(flags & F_MONEY) or bool(flags & F_MONEY_HINT and (problem or neg >= 1.5))
    severe = (
        money
        or bool(flags & (F_CHURN | F_LEGAL))
        or bool(flags & F_OUTAGE and flags & F_TOTAL)
        or (problem and long_duration)
    )
    # Thanks in a tweet reporting an unsolved problem are politeness or sarcasm, not satisfaction.
    if (problem or severe) and not flags & F_RESOLVED:
        polite = 0.0
        if severe:
            pos *= 0.25
    if emo > 0:
        pos += emo
    else:
        neg -= emo
    score = pos + polite - neg
    if exclaims:
        score *= 1.0 + 0.15 * exclaims

    if agent:
        sentiment = "neutral"
    elif score <= -0.5 or (severe and score < 1.5) or (problem and score < 0.5 and not flags & F_RESOLVED):
        sentiment = "negative"
    elif score >= 0.5:
        sentiment = "positive"
    else:
        sentiment = "neutral"

    # Priority without engagement (engagement is applied per row by the provider).
    if agent:
        priority = 0
    elif sentiment == "negative":
        priority = 1
        competitor_churn = bool(flags & F_COMPETITOR) and (problem or neg >= 2)
        work_blocked = bool(flags & F_WORK) and problem
        urgent = bool(flags & F_URGENT) and problem
        if severe or competitor_churn or work_blocked or urgent:
            priority = 2
    elif sentiment == "positive":
        priority = 1 if question else 0  # praise is chatter; a question still needs an answer
    else:
        priority = 1 if question or problem or flags & F_REQUEST else 0

    if agent:
        topic_scores[SERVICE] += 2.0
    topic = _pick_topic(topic_scores, custom_scores, plan)
    return (sentiment, priority, topic, agent)


def _pick_topic(scores: list[float], custom_scores: dict[str, float], plan: _TopicPlan) -> str:
    """Best mapped topic; the fallback when nothing matched or an unmapped group clearly dominates."""
    best_topic: str | None = None
    best = 0.0
    for g, topic in plan.group_topic.items():
        sc = scores[g]
        if sc > best or (sc == best and sc > 0 and best_topic and plan.order[topic] < plan.order[best_topic]):
            best, best_topic = sc, topic
    for topic, sc in custom_scores.items():
        if sc > best or (sc == best and best_topic and plan.order[topic] < plan.order[best_topic]):
            best, best_topic = sc, topic
    unmapped = max([scores[g] for g in plan.unmapped], default=0.0)
    if best_topic is None or best <= 0 or unmapped >= 2 * best:
        return plan.fallback
    return best_topic


# --------------------------------------------------------------------------------------------------
# Provider
# --------------------------------------------------------------------------------------------------


class BuiltinAnalyzer(Provider):
    """Offline lexicon-and-rules labeller; always answers, so it is the pipeline's safety net."""

    name = "builtin"

    def __init__(self, page_size: int = PAGINATE_ROWS_MAX):
        if not 1 <= page_size <= PAGINATE_ROWS_MAX:
            raise ValidationError("page_size", f"must be between 1 and {PAGINATE_ROWS_MAX}, got {page_size}.")
        self.page_size = page_size

    def label(self, rows: Sequence[Row], topics: Sequence[str]) -> dict[str, Label]:
        """Label every row; identical texts are analysed once, engagement is applied per row."""
        topic_list = tuple(t for t in topics if isinstance(t, str) and t.strip())
        if not topic_list:
            raise ProviderError("The topic list is empty: add at least one topic in the settings.")
        plan = _plan(topic_list)
        seen: dict[str, _Analysis] = {}
        # Labels are immutable and few distinct ones exist: share them instead of building one per row.
        made: dict[tuple[str, int, str], Label] = {}
        out: dict[str, Label] = {}
        for row in rows:
            text = row.text if isinstance(row.text, str) else ""
            analysis = seen.get(text)
            if analysis is None:
                analysis = seen[text] = _analyse(text, plan)
            sentiment, priority, topic, agent = analysis
            engagement = row.engagement if isinstance(row.engagement, int) else 0
            if not agent and sentiment != "positive":
                if sentiment == "negative" and engagement >= ENGAGEMENT_HIGH:
                    priority = 2
                elif engagement >= ENGAGEMENT_VIRAL:
                    priority = max(priority, 1)
            key = (sentiment, priority, topic)
            label = made.get(key)
            if label is None:
                label = made[key] = Label(sentiment=sentiment, priority=priority, topic=topic)
            out[row.id] = label
        return out

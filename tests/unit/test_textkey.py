"""The one "same text" rule (dallosh/textkey.py): what it merges, what it keeps apart, and its fast batch form."""

from __future__ import annotations

import random

import pytest

from dallosh.textkey import text_key, text_keys

BASE = "Plus de fibre depuis hier soir, on fait comment ?"


@pytest.mark.parametrize("variant", [
    f"@free {BASE}",  # a handle
    f"@Freebox @FreeMobile {BASE} https://t.co/AbC123",  # handles and a link
    f"{BASE} HTTPS://free.fr/assistance?x=1",  # a link in capitals
    BASE.upper(),  # case
    BASE.replace(" ", "\n", 2).replace("hier", "hier \t"),  # line breaks, tabs, runs of blanks
    f"  {BASE}\xa0",  # leading and trailing blanks, a no-break space
])
def test_links_handles_case_and_spacing_do_not_count(variant):
    assert text_key(variant) == text_key(BASE) == "plus de fibre depuis hier soir, on fait comment ?"


@pytest.mark.parametrize("other", [
    "Plus de fibre depuis ce matin, on fait comment ?",  # another word
    "Plus de fibre depuis hier soir, on fait comment !",  # other punctuation
    "Plus de fibre depuis hier soir, on fait comment ? 😡",  # an emoji
    "RT @free: Plus de fibre depuis hier soir, on fait comment ?",  # a retweet keeps its "RT :"
])
def test_different_texts_keep_different_keys(other):
    assert text_key(other) != text_key(BASE)


def test_the_key_is_the_analytics_rule():
    """The dashboards' top lists use the same rule (they are to import it from here)."""
    from dallosh.analytics import text_key as analytics_key

    samples = ["@a  Hello https://x.y/1 WORLD", "@b hello world https://x.y/2", "Straße @Jürgen\nmerci", "ok"]
    assert [analytics_key(s) for s in samples] == [text_key(s) for s in samples]
    assert analytics_key(samples[0]) == analytics_key(samples[1])  # control: the rule merges these two


#: Pieces that exercise every branch of ``text_keys``' shortcuts: blanks of every kind, handles next to words and
#: links, links holding an "@", case folding that changes length (ß, İ) or depends on context (Σ).
_PIECES = ["a", "B", "é", "ß", "İ", "Σ", "ǅ", "_", "1", " ", "  ", "\n", "\t", "\xa0", "\u2028", "\u3000", "@",
           "@free", "@Free_1337", "http://x.y/z", "HTTPS://A.b/@c", "https:/", "://", ".", "!", "😀", "\x00"]


def test_the_fast_batch_form_gives_the_same_keys():
    rng = random.Random(17)
    texts = ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 14))) for _ in range(20_000)]
    texts += ["", " ", "@free", "@free https://t.co/x", "@http://x.y", "x@y", "a @b c", "RT @free: x"]
    assert text_keys(texts) == [text_key(t) for t in texts]
    assert len(set(text_keys(texts))) > 1000  # control: the sample is varied, not a few keys


def test_non_text_values_are_keyed_as_their_string():
    assert text_keys([None, 12, float("nan")]) == ["none", "12", "nan"] == [text_key(v) for v in (None, 12,
                                                                                                      float("nan"))]

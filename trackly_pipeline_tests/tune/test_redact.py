"""redact: a secret is masked in every spelling a URL or JSON text gives it, and before any cut."""
from __future__ import annotations

import json
from urllib.parse import quote, quote_plus, urlencode

import pytest

from trackly_pipeline.tune.redact import MASK, redact_text, redacted_excerpt

TOKEN = "Q7xLk2Pz/9WvRt4N+mYb8Hc3=JdFg 6Ks5é'Tq0Wn"
URL = "https://acme.api.hasoffers.com/Apiv3/json?" + urlencode({"NetworkToken": TOKEN, "Target": "Offer"})


@pytest.mark.parametrize("spelling", [
    TOKEN,
    quote_plus(TOKEN),
    quote(TOKEN, safe=""),
    quote_plus(TOKEN).replace("%2F", "%2f").replace("%C3%A9", "%c3%a9"),  # hex in lower case
    quote(quote_plus(TOKEN), safe=""),  # a URL quoted whole: encoded twice, its '+' too
    json.dumps(TOKEN)[1:-1].replace("/", "\\/"),  # PHP's json_encode
    repr(TOKEN)[1:-1],
])
def test_every_spelling_of_the_token_is_masked(spelling):
    assert redact_text(f"a {spelling} b", [TOKEN]) == f"a {MASK} b"


def test_a_token_with_a_space_keeps_no_tail_in_a_url():
    # The NetworkToken= pattern ends at the space; the token is masked first, whole.
    assert redact_text(f"GET {URL.replace(quote_plus(TOKEN), TOKEN)}", [TOKEN]).endswith(f"NetworkToken={MASK}&Target=Offer")


@pytest.mark.parametrize("limit", [20, 60, 200])
def test_an_excerpt_never_holds_part_of_the_token_wherever_it_is_cut(limit):
    for shift in range(len(TOKEN) + 1):
        excerpt = redacted_excerpt("x" * shift + (TOKEN + " ") * 10, [TOKEN], limit)
        assert len(excerpt) <= limit
        assert not any(TOKEN[i : i + 4] in excerpt for i in range(len(TOKEN) - 3))


def test_an_excerpt_of_bytes_is_text():
    assert redacted_excerpt(b"\xff" + TOKEN.encode(), [TOKEN], 10) == f"\ufffd{MASK}"

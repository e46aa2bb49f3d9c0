"""Keep the network token out of logs, exception text and returned payloads."""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
SECRET_PARAM_NAMES = frozenset({"networktoken", "api_key", "apikey", "token", "access_token"})

_NAMES = r"NetworkToken|api_key|apikey|access_token|token"
# `NetworkToken=abc` in a query string or log line (also URL-encoded forms end at & or space).
_QUERY_SECRET = re.compile(rf"(?i)\b({_NAMES})=[^&\s\"'#<>]*")
# `"NetworkToken":"abc"` in an echoed JSON `request` block; also when the text was cut inside the
# value (no closing quote), as in a snippet of a reply.
_JSON_SECRET = re.compile(rf'(?i)("(?:{_NAMES})"\s*:\s*)"(?:[^"\\]|\\.)*(?:"|\\?$)')
# Tokens shorter than this are not scrubbed literally: replacing e.g. "a" would mangle text.
_MIN_LITERAL_LENGTH = 4
# Any run of this many characters of a token is masked, not only the whole token: a reply cut off
# (or quoted cut) inside the token leaves its start or its end, which no search for the token finds.
PIECE_LENGTH = 8
# One match spans at most this many characters of a token; a longer run is masked by several
# matches in a row. It bounds the pattern (quadratic in this, linear in the token's length).
_LONGEST_MATCH = 64
# What marks a cut in an excerpt.
_CUT = "..."
# An excerpt's text is cut to its limit plus this before masking, which costs time in proportion to
# the text (an 81 MiB reply): a token cut here is masked as a piece.
_EXCERPT_SLACK = 1 << 16

# Tokens of every client made in this process (a few: one per network), for log records of other
# libraries (urllib3), which know no token: RedactingFilter masks these as well as `NetworkToken=...`.
_LIVE_SECRETS: set[str] = set()
_LIVE_SECRETS_LOCK = threading.Lock()


def is_secret_name(name: str) -> bool:
    return name.lower() in SECRET_PARAM_NAMES


def remember_secret(secret: str) -> None:
    """Have RedactingFilter mask `secret` in every log record of this process from now on."""
    with _LIVE_SECRETS_LOCK:
        _LIVE_SECRETS.add(secret)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask every secret, and every run of PIECE_LENGTH or more of its characters, in any encoding
    a URL or JSON text carries it in (letters in any case: a host name is lower-cased), then secret
    query params and JSON members. Secrets go first: a param's value ends at the first space or
    quote, so a token holding one would otherwise keep its tail."""
    for secret in secrets:
        if secret and len(secret) >= _MIN_LITERAL_LENGTH:
            text = _secret_pattern(secret).sub(MASK, text)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", text)
    return _JSON_SECRET.sub(lambda m: f'{m.group(1)}"{MASK}"', text)


def redacted_excerpt(text: str | bytes, secrets: Iterable[str], limit: int) -> str:
    """At most `limit` characters of `text` for a message or log line, every secret masked BEFORE
    the cut: a cut through a token leaves a part of it that no search for the token finds.
    Every excerpt of a reply or URL is made here; no caller cuts text itself."""
    kept = limit + _EXCERPT_SLACK
    cut = False
    if isinstance(text, (bytes, bytearray)):
        cut = len(text) > 4 * kept
        text = bytes(text[: 4 * kept]).decode("utf-8", "replace")  # 4 bytes at most per character
    cut = cut or len(text) > kept
    text = redact_text(text[:kept], secrets)
    return text if len(text) <= limit and not cut else text[: max(0, limit - len(_CUT))] + _CUT


@functools.lru_cache(maxsize=256)
def _secret_pattern(secret: str) -> re.Pattern[str]:
    """The secret, or any run of PIECE_LENGTH or more of its characters (the whole secret when it is
    shorter), each character as itself or as any encoding of it: percent-encoded (also encoded
    again and again: %25XX, %2525XX), '+' for a space (form encoding; itself encoded in a URL
    quoted whole) and JSON escapes (\\/, \\uXXXX and surrogate pairs), mixed freely, as encoders
    leave some characters as they are. A run is matched as far as it goes."""
    forms = [_character_forms(char) for char in secret]
    piece = min(PIECE_LENGTH, len(forms))
    runs = []
    for start in range(len(forms) - piece + 1):
        rest = ""
        for form in reversed(forms[start + piece : start + _LONGEST_MATCH]):
            rest = f"(?:{form}{rest})?"
        runs.append("".join(forms[start : start + piece]) + rest)
    return re.compile("|".join(runs), re.IGNORECASE)


def _character_forms(char: str) -> str:
    spellings = [char, "+"] if char == " " else [char]
    forms = [re.escape(spelling) for spelling in spellings]
    # surrogatepass: a token read from a non-UTF-8 environment holds lone surrogates
    forms += [
        "".join(f"%(?:25)*{byte:02X}" for byte in spelling.encode("utf-8", "surrogatepass")) for spelling in spellings
    ]
    units = char.encode("utf-16-be", "surrogatepass")  # a character past U+FFFF is a surrogate pair in JSON
    forms.append("".join(rf"\\u{int.from_bytes(units[i : i + 2], 'big'):04X}" for i in range(0, len(units), 2)))
    if char in "/\\\"'":
        forms.append(re.escape("\\" + char))
    return f"(?:{'|'.join(forms)})"


def redact_pairs(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(key, MASK if is_secret_name(key) else value) for key, value in pairs]


def redact_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Deep copy of a JSON-like value with secret keys masked and secret strings scrubbed."""
    secrets = tuple(secrets)
    if isinstance(value, Mapping):
        # Names are text from the reply too: a member named after the token is masked like a value.
        return {
            (redact_text(key, secrets) if isinstance(key, str) else key): MASK
            if isinstance(key, str) and is_secret_name(key)
            else redact_value(item, secrets)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_value(item, secrets) for item in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value


class RedactingFilter(logging.Filter):
    """Logging filter that masks tokens in records emitted by other libraries (urllib3 logs
    full request URLs, query string included, at DEBUG level, and quotes header lines it cannot
    parse, with a traceback, at WARNING): `NetworkToken=...` and the live clients' tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _LIVE_SECRETS_LOCK:
            secrets = tuple(_LIVE_SECRETS)
        try:
            message = record.getMessage()
            trace = record.exc_text or (logging.Formatter().formatException(record.exc_info) if record.exc_info else "")
            redacted = redact_text(f"{message}\n{trace}" if trace else message, secrets)
        except Exception:  # a filter that raises breaks the caller's request: say nothing instead
            redacted, trace = f"{record.name}: a log record could not be masked, so it is not shown", "x"
        if redacted != message or trace:
            # The traceback quotes the same text: it goes, masked, into the message itself (handlers
            # that pass records on, Dagster's among them, drop exc_text).
            record.msg, record.args, record.exc_info, record.exc_text = redacted, None, None, None
        return True


# The pool logs each request line at DEBUG; the connection logs a WARNING with the full URL when a
# reply's headers do not parse.
_URLLIB3_LOGGERS = ("urllib3.connectionpool", "urllib3.connection")


def install_urllib3_redaction() -> None:
    """Attach RedactingFilter to urllib3's loggers that log request URLs, once per process."""
    for name in _URLLIB3_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())

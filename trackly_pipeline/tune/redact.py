"""Keep the network token out of logs, exception text and returned payloads."""
from __future__ import annotations

import functools
import logging
import re
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
# What marks a cut in an excerpt.
_CUT = "..."


def is_secret_name(name: str) -> bool:
    return name.lower() in SECRET_PARAM_NAMES


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask every literal occurrence of a secret, in any encoding a URL or JSON text carries it in,
    then secret query params and JSON members. Secrets go first: a param's value ends at the first
    space or quote, so a token holding one would otherwise keep its tail."""
    for secret in secrets:
        if secret and len(secret) >= _MIN_LITERAL_LENGTH:
            text = _literal_pattern(secret).sub(MASK, text)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", text)
    return _JSON_SECRET.sub(lambda m: f'{m.group(1)}"{MASK}"', text)


def redacted_excerpt(text: str | bytes, secrets: Iterable[str], limit: int) -> str:
    """At most `limit` characters of `text` for a message or log line, every secret masked BEFORE
    the cut: a cut through a token leaves a part of it that no search for the token finds.
    Every excerpt of a reply or URL is made here; no caller cuts text itself."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    text = redact_text(text, secrets)
    return text if len(text) <= limit else text[: max(0, limit - len(_CUT))] + _CUT


@functools.lru_cache(maxsize=64)
def _literal_pattern(secret: str) -> re.Pattern[str]:
    """The secret with each character as itself or as any encoding of it: percent-encoded (hex in
    either case, also encoded again and again: %25XX, %2525XX), '+' for a space (form encoding; itself encoded in
    a URL quoted whole) and JSON escapes (\\/ and \\uXXXX), mixed freely, as encoders leave
    some characters as they are."""
    return re.compile("".join(_character_forms(char) for char in secret))


def _character_forms(char: str) -> str:
    spellings = [char, "+"] if char == " " else [char]
    forms = [re.escape(spelling) for spelling in spellings]
    forms += ["".join(f"%(?:25)*{_hex_any_case(byte, 2)}" for byte in spelling.encode("utf-8")) for spelling in spellings]
    if ord(char) <= 0xFFFF:
        forms.append(rf"\\u{_hex_any_case(ord(char), 4)}")
    if char in "/\\\"'":
        forms.append(re.escape("\\" + char))
    return f"(?:{'|'.join(forms)})"


def _hex_any_case(value: int, digits: int) -> str:
    return "".join(f"[{d.upper()}{d.lower()}]" if d.isalpha() else d for d in f"{value:0{digits}X}")


def redact_pairs(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(key, MASK if is_secret_name(key) else value) for key, value in pairs]


def redact_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Deep copy of a JSON-like value with secret keys masked and secret strings scrubbed."""
    secrets = tuple(secrets)
    if isinstance(value, Mapping):
        return {
            key: MASK if isinstance(key, str) and is_secret_name(key) else redact_value(item, secrets)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_value(item, secrets) for item in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value


class RedactingFilter(logging.Filter):
    """Logging filter that masks tokens in records emitted by other libraries (urllib3 logs
    full request URLs, query string included, at DEBUG level)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
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

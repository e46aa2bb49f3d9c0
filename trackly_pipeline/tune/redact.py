"""Keep the network token out of logs, exception text and returned payloads."""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

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


def is_secret_name(name: str) -> bool:
    return name.lower() in SECRET_PARAM_NAMES


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask secret query params and JSON members, then any literal occurrence of a secret."""
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _JSON_SECRET.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    for secret in secrets:
        if secret and len(secret) >= _MIN_LITERAL_LENGTH:
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, MASK)
    return text


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

"""Webhooks: the event as JSON POSTed to a URL (httpx), signed when the rule gives a secret.

``X-Kanri-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>``, and
``X-Kanri-Delivery: <id>`` so that a receiver can drop a retried duplicate. 2xx is
delivered; 4xx other than 408 and 429 is a refusal (not retried); anything else (5xx,
408, 429, no answer, a redirect) is retried.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from kanri.domain.errors import NotifyError, NotifyRefused, NotifyTimedOut, NotifyUnreachable
from kanri.domain.notify import Notification
from kanri.drivers.registry import DriverContext

DEFAULT_TIMEOUT = 10.0
_RETRIED_4XX = frozenset({408, 429})


def body_of(message: Notification) -> bytes:
    document: dict[str, Any] = {
        "delivery": message.delivery_id,
        "rule": message.rule,
        "trigger": message.trigger,
        "subject": message.subject,
        "event": message.event,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookNotifier:
    def __init__(self, context: DriverContext) -> None:
        self.context = context

    def send(self, message: Notification) -> str:
        url = message.params.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise NotifyRefused(f"a webhook needs an http(s) 'url', not {url!r}")
        timeout = message.params.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise NotifyRefused("a webhook's 'timeout' is a number of seconds above 0")
        body = body_of(message)
        headers = {"Content-Type": "application/json", "User-Agent": "kanri"}
        if message.delivery_id is not None:
            headers["X-Kanri-Delivery"] = str(message.delivery_id)
        secret = message.params.get("secret")
        if secret:
            headers["X-Kanri-Signature"] = signature(str(secret), body)
        try:
            with httpx.Client(timeout=float(timeout), follow_redirects=False) as client:
                answer = client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise NotifyTimedOut(f"webhook {url}: no answer within {timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise NotifyUnreachable(f"webhook {url}: {exc or type(exc).__name__}") from None
        code = answer.status_code
        said = f"webhook {url} answered HTTP {code} {answer.reason_phrase}".rstrip()
        if 200 <= code < 300:
            return f"HTTP {code} from {url}"
        if 400 <= code < 500 and code not in _RETRIED_4XX:
            raise NotifyRefused(said)
        raise NotifyError(said)

    def close(self) -> None:
        pass

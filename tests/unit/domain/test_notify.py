"""SMTP settings from the environment, and the texts a notification is made of."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kanri.domain.errors import Invalid
from kanri.domain.faults import EventState, FaultEvent, Severity, Source
from kanri.domain.notify import (
    SmtpServer,
    SmtpTls,
    body_of,
    event_document,
    smtp_from_env,
    subject_of,
)

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _event(**changes: object) -> FaultEvent:
    values: dict[str, object] = {
        "id": 7,
        "key": "blade-05|hw.component|DIMM3",
        "kind": "hw.component",
        "severity": Severity.CRITICAL,
        "state": EventState.OPEN,
        "source": Source.POLL,
        "target": "blade-05",
        "component": "DIMM3",
        "message": "DIMM3 is critical",
        "first_at": AT,
        "last_at": AT,
        "count": 3,
        "affected": ("app-1", "app-2"),
        "diagnostics": {"sel": [{"created": "2026-03-01T12:00:00Z", "message": "ECC error"}]},
    }
    values.update(changes)
    return FaultEvent(**values)  # type: ignore[arg-type]


def test_no_host_no_smtp() -> None:
    assert smtp_from_env({}) is None


def test_defaults_follow_the_tls_mode() -> None:
    assert smtp_from_env({"KANRI_SMTP_HOST": "mail"}) == SmtpServer(
        "mail", 587, "kanri@mail", SmtpTls.STARTTLS
    )
    tls = smtp_from_env({"KANRI_SMTP_HOST": "mail", "KANRI_SMTP_TLS": "TLS"})
    assert tls is not None
    assert (tls.port, tls.tls) == (465, SmtpTls.TLS)
    plain = smtp_from_env({"KANRI_SMTP_HOST": "mail", "KANRI_SMTP_TLS": "none"})
    assert plain is not None
    assert plain.port == 25


def test_every_setting() -> None:
    server = smtp_from_env(
        {
            "KANRI_SMTP_HOST": "mail.example.com",
            "KANRI_SMTP_PORT": "2525",
            "KANRI_SMTP_FROM": "ops@example.com",
            "KANRI_SMTP_USER": "kanri",
            "KANRI_SMTP_TIMEOUT": "2.5",
            "KANRI_SMTP_CA_FILE": "/etc/ca.pem",
            "KANRI_SMTP_VERIFY_TLS": "false",
        },
        password="from-file",
    )
    assert server == SmtpServer(
        "mail.example.com", 2525, "ops@example.com", SmtpTls.STARTTLS, "kanri", "from-file",
        2.5, "/etc/ca.pem", verify_tls=False,
    )  # fmt: skip
    assert "from-file" not in repr(server)


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("KANRI_SMTP_PORT", "smtp", "KANRI_SMTP_PORT is a whole number"),
        ("KANRI_SMTP_PORT", "70000", "KANRI_SMTP_PORT is a port number"),
        ("KANRI_SMTP_TLS", "ssl", "KANRI_SMTP_TLS is one of starttls, tls, none"),
        ("KANRI_SMTP_TIMEOUT", "0", "KANRI_SMTP_TIMEOUT is a number of seconds above 0"),
        ("KANRI_SMTP_VERIFY_TLS", "maybe", "KANRI_SMTP_VERIFY_TLS is true or false"),
    ],
)
def test_a_bad_setting_is_one_clear_error(name: str, value: str, said: str) -> None:
    with pytest.raises(Invalid, match=said):
        smtp_from_env({"KANRI_SMTP_HOST": "mail", name: value})


def test_the_subject_is_one_line_whatever_the_message() -> None:
    subject = subject_of(_event(message="bad\r\nBcc: everyone@example.com"))
    assert "\n" not in subject
    assert "\r" not in subject
    assert subject.startswith("[kanri] CRITICAL hw.component DIMM3 on blade-05: bad Bcc:")
    assert len(subject_of(_event(message="x" * 1000))) == 200


def test_the_body_says_what_is_affected_and_the_sel_around_it() -> None:
    body = body_of(_event(), rule="page", trigger="new")
    assert "affected:  app-1, app-2" in body
    assert "rule:      page (new)" in body
    assert "ECC error" in body


def test_the_event_document_is_json_able() -> None:
    doc = event_document(_event())
    assert doc["severity"] == "critical"
    assert doc["affected"] == ["app-1", "app-2"]
    assert doc["first_at"] == "2026-03-01T12:00:00+00:00"

"""Report delivery against real servers on loopback: aiosmtpd for email, the project's Box simulator for uploads."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from box_offboarding.box.client import BoxClient
from box_offboarding.delivery import XLSX_MIME_TYPE, deliver_report, email_addresses, email_report, upload_report
from box_offboarding.errors import ConfigurationError
from box_offboarding.settings import Settings
from box_offboarding.simulator import RunningSimulator
from helpers import box_settings

SMTP_USER = "mailer"
SMTP_PASSWORD = "s3cret-Pa55word"
REFUSED_PREFIX = "nobody@"

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses recipients starting with ``nobody@``."""

    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Envelope, address: str, options: Any) -> str:
        if address.startswith(REFUSED_PREFIX):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        """Accepts SMTP_USER/SMTP_PASSWORD; a refusal echoes the password, as a careless server might."""
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        if (login, password) == (SMTP_USER, SMTP_PASSWORD):
            self.logins.append(login)
            return AuthResult(success=True, auth_data=data)
        return AuthResult(success=False, handled=False, message=f"535 5.7.8 bad credentials {login}:{password}")

    def messages(self) -> list[EmailMessage]:
        parsed = [message_from_bytes(envelope.original_content or b"", policy=policy.default) for envelope in self]
        return [message for message in parsed if isinstance(message, EmailMessage)]

    def __iter__(self) -> Iterator[Envelope]:
        return iter(self.envelopes)


def free_port() -> int:
    """A loopback port nothing listens on (right now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_smtp(inbox: Inbox, **smtp_options: Any) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **smtp_options)
    controller.start()
    return controller


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A plain SMTP server (no TLS, no AUTH) and its port."""
    handler = Inbox()
    controller = start_smtp(handler)
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def auth_inbox() -> Iterator[tuple[Inbox, int]]:
    """An SMTP server that requires AUTH (allowed without TLS, loopback only)."""
    handler = Inbox()
    controller = start_smtp(handler, authenticator=handler.authenticate, auth_required=True, auth_require_tls=False)
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """A real one-sheet .xlsx report."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["login", "status"])
    workbook.active.append(["ann@example.com", "confirmed"])
    path = tmp_path / "offboarding-2026-03-14.xlsx"
    workbook.save(path)
    return path


def mail_settings(port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_timeout_seconds": 5,
        "mail_from": "Box Offboarding <offboarding@example.com>",
        "mail_to": ("it-ops@example.com", "security@example.org"),
        **overrides,
    }
    return Settings(**values)


class RefuseNewVersions(httpx.AsyncHTTPTransport):
    """Real HTTP to the simulator, except that uploads of a new version are refused with Box's 403 (the simulator
    has no switch for that)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.split("/")
        if request.method == "POST" and parts[-1] == "content" and parts[-2].isdigit():
            body = {"type": "error", "status": 403, "code": "access_denied_insufficient_permissions", "message": "no"}
            return httpx.Response(403, json=body, request=request)
        return await super().handle_async_request(request)


# ---------------------------------------------------------------------------------------------------------- email


@pytest.mark.parametrize("html", [None, "<p>3 users <b>confirmed</b></p>"])
def test_email_carries_report_summary_and_recipients(inbox: tuple[Inbox, int], report: Path, html: str | None) -> None:
    """The server receives one message to every recipient, with the summary and the report as an xlsx attachment."""
    handler, port = inbox
    result = email_report(
        report, settings=mail_settings(port), subject="Offboarding 2026-03-14", body="3 users confirmed", html=html
    )

    assert result.ok, result.detail
    assert (result.channel, result.location) == ("email", None)
    assert "it-ops@example.com, security@example.org" in result.detail
    [envelope] = handler.envelopes
    assert envelope.mail_from == "offboarding@example.com"
    assert envelope.rcpt_tos == ["it-ops@example.com", "security@example.org"]
    [message] = handler.messages()
    assert message["Subject"] == "Offboarding 2026-03-14"
    assert message["From"].addresses[0].display_name == "Box Offboarding"
    assert [address.addr_spec for address in message["To"].addresses] == envelope.rcpt_tos
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert text.get_content().strip() == "3 users confirmed"
    html_part = message.get_body(preferencelist=("html",))
    assert (html_part.get_content().strip() if html_part is not None else None) == html
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == XLSX_MIME_TYPE
    assert attachment.get_filename() == report.name
    assert attachment.get_content() == report.read_bytes()


@pytest.mark.parametrize(("password", "ok"), [(SMTP_PASSWORD, True), ("wrong-Pa55word", False)])
def test_email_logs_in_and_never_reveals_the_password(
    auth_inbox: tuple[Inbox, int], report: Path, password: str, ok: bool
) -> None:
    """With a username set the client logs in; a refusal is a clear failure whose detail hides the password."""
    handler, port = auth_inbox
    settings = mail_settings(port, smtp_username=SMTP_USER, smtp_password=password)
    result = email_report(report, settings=settings, subject="s", body="b")

    assert result.ok is ok
    assert len(handler.envelopes) == int(ok)
    assert handler.logins == ([SMTP_USER] if ok else [])
    assert password not in result.detail
    assert password not in repr(result)
    if not ok:
        assert "535" in result.detail
        assert "127.0.0.1" in result.detail
        assert report.exists()


def test_email_without_login_is_refused_by_a_server_that_requires_it(
    auth_inbox: tuple[Inbox, int], report: Path
) -> None:
    """No username set against a server requiring AUTH: the server's refusal is reported, nothing delivered."""
    handler, port = auth_inbox
    result = email_report(report, settings=mail_settings(port), subject="s", body="b")

    assert not result.ok
    assert "530" in result.detail
    assert handler.envelopes == []


def test_email_to_a_closed_port_fails_clearly_and_keeps_the_report(report: Path) -> None:
    """Nothing listening: ok=False, the detail names the server, and the report file is untouched."""
    before = report.read_bytes()
    port = free_port()
    result = email_report(report, settings=mail_settings(port), subject="s", body="b")

    assert not result.ok
    assert f"127.0.0.1:{port}" in result.detail
    assert "ConnectionRefusedError" in result.detail
    assert report.read_bytes() == before


@pytest.mark.parametrize(("security", "expected"), [("starttls", "STARTTLS"), ("ssl", "SSL")])
def test_email_never_falls_back_to_plain_text(
    inbox: tuple[Inbox, int], report: Path, security: str, expected: str
) -> None:
    """STARTTLS or implicit TLS required by settings against a plain server: failure, nothing sent in clear."""
    handler, port = inbox
    result = email_report(report, settings=mail_settings(port, smtp_security=security), subject="s", body="b")

    assert not result.ok
    assert expected in result.detail
    assert handler.envelopes == []


@pytest.mark.parametrize(
    ("mail_to", "expected", "delivered"),
    [
        (("it-ops@example.com", "nobody@example.com"), "sent to it-ops@example.com", [["it-ops@example.com"]]),
        (("nobody@example.com",), "all recipients refused", []),
    ],
)
def test_email_reports_refused_recipients(
    inbox: tuple[Inbox, int], report: Path, mail_to: tuple[str, ...], expected: str, delivered: list[list[str]]
) -> None:
    """A refused recipient makes the result a failure naming them, whether or not others received the report."""
    handler, port = inbox
    result = email_report(report, settings=mail_settings(port, mail_to=mail_to), subject="s", body="b")

    assert not result.ok
    assert expected in result.detail
    assert "nobody@example.com (550 5.1.1 no such mailbox)" in result.detail
    assert [envelope.rcpt_tos for envelope in handler] == delivered


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"mail_from": "offboarding.example.com"}, "OFFBOARD_MAIL_FROM"),
        ({"mail_to": ("it-ops@example.com", "security@@example.org")}, "OFFBOARD_MAIL_TO"),
        ({"mail_to": ()}, "OFFBOARD_MAIL_TO"),
        ({"mail_from": None}, "OFFBOARD_MAIL_FROM"),
        ({"smtp_host": None}, "OFFBOARD_SMTP_HOST"),
        ({"smtp_username": SMTP_USER}, "OFFBOARD_SMTP_PASSWORD"),
    ],
)
def test_bad_mail_settings_are_a_configuration_error(
    inbox: tuple[Inbox, int], report: Path, overrides: dict[str, Any], named: str
) -> None:
    """A bad or missing address is a ConfigurationError naming the setting; email_report turns it into a result."""
    handler, port = inbox
    settings = mail_settings(port, **overrides)
    with pytest.raises(ConfigurationError, match=named):
        email_addresses(settings)

    result = email_report(report, settings=settings, subject="s", body="b")
    assert not result.ok
    assert named in result.detail
    assert handler.envelopes == []


# ---------------------------------------------------------------------------------------------------------- Box


async def test_upload_creates_the_file_then_a_new_version(simulator: RunningSimulator, report: Path) -> None:
    """First upload makes a file; the same name again becomes version 2 of that file, not a second file."""
    first_bytes = await asyncio.to_thread(report.read_bytes)
    async with BoxClient(box_settings(simulator)) as client:
        first = await upload_report(client, report, folder_id="0")
        assert simulator.simulator.uploads() == {f"0/{report.name}": first_bytes}

        second_bytes = first_bytes + b"rerun"
        await asyncio.to_thread(report.write_bytes, second_bytes)
        second = await upload_report(client, report, folder_id="0")

    assert (first.channel, first.ok) == ("box", True)
    assert "new file" in first.detail
    assert (second.ok, second.location) == (True, first.location)
    assert "new version" in second.detail
    assert simulator.simulator.uploads() == {f"0/{report.name}": second_bytes}
    [stored] = simulator.simulator.uploaded_files()
    assert (stored["id"], stored["versions"]) == (first.location, 2)


async def test_refused_new_version_falls_back_to_a_suffixed_name(simulator: RunningSimulator, report: Path) -> None:
    """New versions refused: the report goes up as "name (2).xlsx", then "(3)"; past max_suffix it fails clearly."""
    content = await asyncio.to_thread(report.read_bytes)
    stem = report.stem
    async with BoxClient(box_settings(simulator), transport=RefuseNewVersions()) as client:
        results = [await upload_report(client, report, folder_id="7", max_suffix=3) for _ in range(4)]

    assert [result.ok for result in results] == [True, True, True, False]
    assert "(2).xlsx" in results[1].detail
    assert "(3).xlsx" in results[2].detail
    assert "403" in results[1].detail
    assert "all taken" in results[3].detail
    assert results[3].location is None
    assert len({result.location for result in results[:3]}) == 3
    assert simulator.simulator.uploads() == {
        f"7/{report.name}": content,
        f"7/{stem} (2).xlsx": content,
        f"7/{stem} (3).xlsx": content,
    }


async def test_refused_credentials_fail_without_revealing_the_secret(simulator: RunningSimulator, report: Path) -> None:
    """A wrong client secret: ok=False, the detail says Box refused, the secret appears nowhere, nothing stored."""
    secret = "not-the-sim-secret-42"
    settings = Settings(box=box_settings(simulator, client_secret=secret), box_folder_id="0")
    [result] = await deliver_report(report, settings=settings, subject="s", body="b")

    assert (result.channel, result.ok) == ("box", False)
    assert "oauth2/token" in result.detail
    assert secret not in result.detail
    assert simulator.simulator.uploads() == {}
    assert await asyncio.to_thread(report.exists)


# ---------------------------------------------------------------------------------------------------------- both


async def test_nothing_configured_delivers_nothing(report: Path) -> None:
    """No Box folder and no SMTP settings: no channels, no results."""
    assert await deliver_report(report, settings=Settings(), subject="s", body="b") == []


async def test_half_configured_email_is_a_failed_result_not_a_silent_skip(report: Path) -> None:
    """Recipients without a server: one failed email result saying what is missing."""
    settings = Settings(mail_to=("it-ops@example.com",), mail_from="offboarding@example.com")
    [result] = await deliver_report(report, settings=settings, subject="s", body="b")

    assert (result.channel, result.ok) == ("email", False)
    assert "OFFBOARD_SMTP_HOST" in result.detail


async def test_both_channels_deliver(simulator: RunningSimulator, inbox: tuple[Inbox, int], report: Path) -> None:
    """Box folder and SMTP configured: one result per channel in order box, email, both delivered."""
    handler, port = inbox
    settings = mail_settings(port, box=box_settings(simulator), box_folder_id="42")
    box, email = await deliver_report(report, settings=settings, subject="Offboarding", body="summary")

    assert (box.channel, box.ok, email.channel, email.ok) == ("box", True, "email", True)
    assert simulator.simulator.uploads() == {f"42/{report.name}": await asyncio.to_thread(report.read_bytes)}
    assert box.location == simulator.simulator.uploaded_files()[0]["id"]
    assert len(handler.envelopes) == 1


async def test_a_failing_channel_does_not_stop_the_other(inbox: tuple[Inbox, int], report: Path) -> None:
    """Box credentials missing: the box result fails clearly, the email still goes out, the report stays."""
    handler, port = inbox
    settings = mail_settings(port, box_folder_id="0")
    box, email = await deliver_report(report, settings=settings, subject="Offboarding", body="summary")

    assert (box.channel, box.ok, box.location) == ("box", False, None)
    assert "BOX_CLIENT_ID" in box.detail
    assert (email.channel, email.ok) == ("email", True)
    assert len(handler.envelopes) == 1
    assert await asyncio.to_thread(report.exists)

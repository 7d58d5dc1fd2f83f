"""Send the Excel report on after a run: upload it to a Box folder and/or email it.

The report always lands in the report directory first; delivery only copies it further. A channel that fails is
reported as a :class:`DeliveryResult` (which channel, why, never a password) instead of an exception, so a broken
mail server or Box folder never costs the run its report or its ledger.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from pydantic import SecretStr

from box_offboarding.box.client import BoxClient
from box_offboarding.box.models import UploadedFile
from box_offboarding.errors import BoxConflictError, BoxError, ConfigurationError, DeliveryError, OffboardingError
from box_offboarding.settings import Settings

logger = logging.getLogger(__name__)

XLSX_MIME_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REDACTED = "**********"


@dataclass(frozen=True)
class DeliveryResult:
    """How one channel went: ``detail`` says where the report went or why it did not (never a secret)."""

    channel: str  # "box" | "email"
    ok: bool
    detail: str
    location: str | None  # the Box file id, or None


# ---------------------------------------------------------------------------------------------------------- Box


async def upload_report(client: BoxClient, path: Path, *, folder_id: str, max_suffix: int = 9) -> DeliveryResult:
    """Upload the report to ``folder_id``; a taken name gets a new version of that file, and if that fails, the
    first free name among ``name (2).xlsx`` ... ``name (max_suffix).xlsx``."""
    try:
        content = await asyncio.to_thread(path.read_bytes)
        uploaded, how = await _upload_or_version(
            client, folder_id=folder_id, name=path.name, content=content, max_suffix=max_suffix
        )
    except (OffboardingError, OSError) as error:
        return _box_failure(path, folder_id=folder_id, error=error)
    return DeliveryResult("box", True, f"uploaded to Box folder {folder_id} as file {uploaded.id} ({how})", uploaded.id)


async def _upload_or_version(
    client: BoxClient, *, folder_id: str, name: str, content: bytes, max_suffix: int
) -> tuple[UploadedFile, str]:
    """The uploaded file and how it got there."""
    try:
        return await client.upload_file(folder_id=folder_id, name=name, content=content), "new file"
    except BoxConflictError as conflict:
        existing = conflict.conflict_file_id
    if existing is None:
        reason = f"{name} exists but Box did not say which file it is"
    else:
        try:
            return await client.upload_new_version(file_id=existing, name=name, content=content), "new version"
        except BoxError as error:
            reason = f"a new version of file {existing} failed: {_describe(error)}"
    logger.warning("Box upload: %s; trying a suffixed name", reason)
    try:
        uploaded = await _upload_suffixed(client, folder_id=folder_id, name=name, content=content, last=max_suffix)
    except (BoxError, DeliveryError) as error:
        raise DeliveryError(f"{reason}; then {_describe(error)}") from error
    return uploaded, f"named {uploaded.name!r} because {reason}"


async def _upload_suffixed(client: BoxClient, *, folder_id: str, name: str, content: bytes, last: int) -> UploadedFile:
    """Upload under the first free name ``stem (n).ext`` for n in 2..last."""
    path = Path(name)
    for number in range(2, last + 1):
        try:
            return await client.upload_file(
                folder_id=folder_id, name=f"{path.stem} ({number}){path.suffix}", content=content
            )
        except BoxConflictError:
            continue
    raise DeliveryError(f"the names {path.stem} (2){path.suffix} to ({last}){path.suffix} are all taken as well")


# ---------------------------------------------------------------------------------------------------------- email


def email_addresses(settings: Settings) -> tuple[Address, tuple[Address, ...]]:
    """Sender and recipients, checked for syntax (no DNS): a clear :class:`ConfigurationError` otherwise.

    Call it at start-up to catch a typo before the run rather than after it.
    """
    missing = [
        name
        for name, value in (
            ("OFFBOARD_SMTP_HOST", settings.smtp_host),
            ("OFFBOARD_MAIL_FROM", settings.mail_from),
            ("OFFBOARD_MAIL_TO", settings.mail_to),
        )
        if not value
    ]
    if settings.smtp_username and settings.smtp_password is None:
        missing.append("OFFBOARD_SMTP_PASSWORD (OFFBOARD_SMTP_USERNAME is set)")
    if missing:
        raise ConfigurationError(f"the report email is not fully configured: set {', '.join(missing)}")
    assert settings.mail_from is not None  # checked above, for mypy
    sender = _address("OFFBOARD_MAIL_FROM", settings.mail_from)
    return sender, tuple(_address("OFFBOARD_MAIL_TO", value) for value in settings.mail_to)


def _address(setting: str, value: str) -> Address:
    try:
        checked = validate_email(value, allow_display_name=True, check_deliverability=False)
    except EmailNotValidError as error:
        raise ConfigurationError(f"{setting}: {value!r} is not a valid email address: {error}") from None
    return Address(display_name=checked.display_name or "", addr_spec=checked.normalized)


def build_message(
    path: Path, *, sender: Address, recipients: Sequence[Address], subject: str, body: str, html: str | None = None
) -> EmailMessage:
    """The report email: ``body`` as text (``html`` as its alternative, if given) and the report attached."""
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())  # a header cannot hold line breaks
    message["From"] = sender
    message["To"] = recipients
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.domain)
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    maintype, subtype = XLSX_MIME_TYPE.split("/")
    message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return message


def email_report(path: Path, *, settings: Settings, subject: str, body: str, html: str | None = None) -> DeliveryResult:
    """Email the report through the configured SMTP server (blocking: run it in a thread from async code)."""
    server = f"{settings.smtp_host}:{settings.smtp_port} ({settings.smtp_security})"
    try:
        sender, recipients = email_addresses(settings)
        message = build_message(path, sender=sender, recipients=recipients, subject=subject, body=body, html=html)
        refused = _send(message, settings=settings)
    except (OffboardingError, smtplib.SMTPException, OSError) as error:
        detail = f"email not sent via {server}: {_describe(error)}"
        return DeliveryResult("email", False, _redact(detail, settings.smtp_password), None)
    sent_to = ", ".join(address.addr_spec for address in recipients if address.addr_spec not in refused)
    if refused:
        detail = f"sent to {sent_to} via {server}, but refused for {_describe_refused(refused)}"
        return DeliveryResult("email", False, _redact(detail, settings.smtp_password), None)
    return DeliveryResult("email", True, f"sent to {sent_to} via {server}", None)


def _send(message: EmailMessage, *, settings: Settings) -> dict[str, tuple[int, bytes]]:
    """Send over STARTTLS, implicit TLS or plain SMTP per settings, logging in when a username is set; returns
    the recipients the server refused (all refused raises)."""
    assert settings.smtp_host is not None  # checked by email_addresses
    smtp: smtplib.SMTP
    if settings.smtp_security == "ssl":
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host,
            settings.smtp_port,
            timeout=settings.smtp_timeout_seconds,
            context=ssl.create_default_context(),
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            assert settings.smtp_password is not None  # checked by email_addresses
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        return smtp.send_message(message)


def _describe_refused(refused: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(f"{address} ({code} {_text(reply)})" for address, (code, reply) in refused.items())


# ---------------------------------------------------------------------------------------------------------- both


async def deliver_report(
    path: Path,
    *,
    settings: Settings,
    subject: str,
    body: str,
    html: str | None = None,
    client: BoxClient | None = None,
) -> list[DeliveryResult]:
    """Send the report through every configured channel at once; one result per channel, in the order box, email.

    Box runs when ``box_folder_id`` is set (with ``client``, or a client built from ``settings.box``); email when
    any of ``smtp_host``/``mail_to`` is set (a half configuration is a failed result, not a silent skip). Channel
    failures never raise; an empty list means nothing is configured.
    """
    channels = []
    if settings.box_folder_id:
        channels.append(_deliver_to_box(path, settings=settings, folder_id=settings.box_folder_id, client=client))
    if settings.smtp_host or settings.mail_to:
        channels.append(asyncio.to_thread(email_report, path, settings=settings, subject=subject, body=body, html=html))
    results = list(await asyncio.gather(*channels))
    for result in results:
        if result.ok:
            logger.info("Report delivery (%s): %s", result.channel, result.detail)
        else:
            logger.warning("Report delivery (%s) failed: %s", result.channel, result.detail)
    return results


async def _deliver_to_box(
    path: Path, *, settings: Settings, folder_id: str, client: BoxClient | None
) -> DeliveryResult:
    if client is not None:
        return await upload_report(client, path, folder_id=folder_id)
    try:
        async with BoxClient(settings.box) as own_client:
            return await upload_report(own_client, path, folder_id=folder_id)
    except OffboardingError as error:  # e.g. incomplete Box credentials
        return _box_failure(path, folder_id=folder_id, error=error)


def _box_failure(path: Path, *, folder_id: str, error: BaseException) -> DeliveryResult:
    return DeliveryResult(
        "box", False, f"upload of {path.name} to Box folder {folder_id} failed: {_describe(error)}", None
    )


# ---------------------------------------------------------------------------------------------------------- words


def _describe(error: BaseException) -> str:
    """An error in one line, with the SMTP reply code and text where there is one."""
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__}: {error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return f"all recipients refused: {_describe_refused(error.recipients)}"
    if isinstance(error, OffboardingError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _redact(text: str, secret: SecretStr | None) -> str:
    """Belt and braces: a server that echoes the password back must not put it in a report."""
    value = secret.get_secret_value() if secret is not None else ""
    return text.replace(value, REDACTED) if value else text

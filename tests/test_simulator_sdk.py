"""Box's official Python SDK (box-sdk-gen), pointed at the simulator, cannot tell it from Box on our calls."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from box_sdk_gen import (
    BaseUrls,
    BoxAPIError,
    BoxCCGAuth,
    BoxClient,
    CCGConfig,
    GetEventsStreamType,
    GetUsersUserType,
    UploadFileAttributes,
    UploadFileAttributesParentField,
)

from box_offboarding.simulator import RunningSimulator, SimulatorConfig, run_simulator


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    with run_simulator(
        SimulatorConfig(users=1200, event_delay_seconds=0, relogin_share=0.5, relogin_after_seconds=0)
    ) as sim:
        yield sim


@pytest.fixture(scope="module")
def client(running: RunningSimulator) -> BoxClient:
    """A CCG client as a Box customer would build it; the SDK joins /2.0, /oauth2/token and /2.0/files/content
    onto these origins itself."""
    config = running.config
    auth = BoxCCGAuth(
        config=CCGConfig(
            client_id=config.client_id, client_secret=config.client_secret, enterprise_id=config.enterprise_id
        )
    )
    base_urls = BaseUrls(base_url=running.base_url, upload_url=running.upload_url, oauth_2_url=running.base_url)
    return BoxClient(auth=auth).with_custom_base_urls(base_urls)


def test_sdk_lists_users_with_markers(client: BoxClient, running: RunningSimulator) -> None:
    """users.get_users with usemarker walks the whole directory through next_marker."""
    seen: list[str] = []
    marker = None
    while True:
        page = client.users.get_users(
            usemarker=True, marker=marker, limit=500, fields=["login", "status", "role"], user_type=GetUsersUserType.ALL
        )
        seen += [user.id for user in page.entries or []]
        marker = page.next_marker
        if not marker:
            break
    assert seen == [user.id for user in running.simulator.users]
    assert running.simulator.request_count("POST /oauth2/token", 200) == 1


def test_sdk_finds_a_user_by_filter_term(client: BoxClient, running: RunningSimulator) -> None:
    """get_users(filter_term=login) returns that user with the fields asked for."""
    target = running.simulator.users[42]
    page = client.users.get_users(filter_term=target.login, fields=["login", "status", "role"])
    assert [(user.id, user.login, user.role.value) for user in page.entries or []] == [
        (target.id, target.login, target.role)
    ]
    assert page.total_count == 1


def test_sdk_terminates_sessions_and_reads_the_admin_events(client: BoxClient, running: RunningSimulator) -> None:
    """session_termination.terminate_users_sessions is accepted, and events.get_events(admin_logs) shows the job."""
    since = datetime.now(UTC) - timedelta(minutes=5)
    targets = running.simulator.users[100:110]
    message = client.session_termination.terminate_users_sessions(
        user_ids=[user.id for user in targets[:5]], user_logins=[user.login for user in targets[5:]]
    )
    assert message.message == "Request is successful, please check the admin events for the status of the job"
    terminated: set[str] = set()
    position = "0"
    while True:
        events = client.events.get_events(
            stream_type=GetEventsStreamType.ADMIN_LOGS, stream_position=position, limit=100, created_after=since
        )
        if not events.entries:
            break
        terminated |= {event.source.id for event in events.entries if event.event_type == "TERMINATE_USER_SESSIONS"}
        position = str(events.next_stream_position)
    assert terminated == {user.id for user in targets}


def test_sdk_uploads_a_file_and_sees_the_conflict(client: BoxClient, running: RunningSimulator) -> None:
    """uploads.upload_file returns the new file; the same name again raises the SDK's BoxAPIError 409."""
    attributes = UploadFileAttributes(name="offboarding.xlsx", parent=UploadFileAttributesParentField(id="0"))
    files = client.uploads.upload_file(attributes, io.BytesIO(b"report bytes"))
    entry = (files.entries or [])[0]
    assert (entry.name, entry.size) == ("offboarding.xlsx", 12)
    assert running.simulator.uploads()["0/offboarding.xlsx"] == b"report bytes"
    with pytest.raises(BoxAPIError) as raised:
        client.uploads.upload_file(attributes, io.BytesIO(b"again"))
    assert raised.value.response_info.status_code == 409
    assert raised.value.response_info.code == "item_name_in_use"
    assert raised.value.response_info.context_info["conflicts"][0]["id"] == entry.id

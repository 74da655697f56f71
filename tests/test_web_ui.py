"""Ops tools on the dev server: search attributes current at every transition (the list filters
ops use), and the Temporal Web UI in a real headless Chromium, showing personal data only when
decoded through the codec server by a signed-in operator. Screenshots go to the test's tmp dir."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright, expect
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from edge.codec import EncryptionCodec, KeyRing, data_converter
from edge.converter import contract_data_converter
from models import search
from models.complaint import AssignHandler, ConfirmReply, RecordFindings, SendReply
from starter import Complaints
from starter.codec_server import CodecServer
from worker import build_worker

from .conftest import TEST_QUEUE, binary, register_search_attributes
from .test_complaint_closure import CLOSURE, complaint

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TOKEN = "web-ui-codec-token-0123"
NAME, PHONE = "张三", "13800138000"
SUMMARY = "Complaint C1 · network_quality · via hotline"
UI_WAIT = 30_000
"""ms: the UI polls the server and the codec; generous, it returns as soon as the text shows."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@pytest.fixture
def keys() -> KeyRing:
    return KeyRing({"ui-test": os.urandom(32)})


@pytest.fixture
def ui_port() -> int:
    return free_port()


@pytest.fixture
async def codec_url(keys, ui_port) -> AsyncIterator[str]:
    """The codec server, allowing only this test's Web UI origin. Same host name as the UI
    (localhost), so the browser sends the session cookie."""
    port = free_port()
    runner = web.AppRunner(CodecServer(EncryptionCodec(keys), TOKEN, f"http://localhost:{ui_port}").app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://localhost:{port}"
    await runner.cleanup()


@asynccontextmanager
async def dev_server(keys: KeyRing, engine, *extra_args: str, ui_port: int | None = None
                     ) -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_local(
            data_converter=data_converter(keys), dev_server_existing_path=binary("temporal"),
            ui=ui_port is not None, ui_port=ui_port,
            # No news feed: the browser makes no request off this machine.
            dev_server_extra_args=["--ui-disable-news-fetch", *extra_args]) as env:
        await register_search_attributes(env.client)
        async with build_worker(env.client, engine, task_queue=TEST_QUEUE):
            yield env


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run scripts/chromium (installs Debian's chromium) first")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def open_cases(client: Client) -> dict[str, str]:
    """C1 in progress with a handler; C2 received 16 days ago and never answered: breached.
    Returns workflow id → run id."""
    complaints = Complaints(client, TEST_QUEUE)
    received = datetime.now(UTC) - timedelta(days=16)
    c1 = await complaints.start(complaint("C1"))
    await complaints.assign_handler("C1", AssignHandler(handler="h.li", actor="desk.wang"))
    c2 = await complaints.start(complaint("C2", received_at=received.isoformat(),
                                          event_date=(received - timedelta(days=1)).date().isoformat()))
    c2_status = await wait_for(lambda: complaints.status("C2"), lambda s: s.escalated_to is not None)
    assert c2_status.appeal_eligible and c2_status.escalated_to == "complaint-supervisor"
    return {handle.id: handle.result_run_id for handle in (c1, c2)}


async def wait_for(read, done, timeout: float = 10.0):
    """Poll `read()` until `done(value)`; visibility is eventually consistent."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await read()
        if done(value) or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)


async def assert_listed(client: Client, query: str, *expected: str) -> None:
    async def ids() -> set[str]:
        return {w.id async for w in client.list_workflows(query)}
    found = await wait_for(ids, lambda found: found == set(expected))
    assert found == set(expected), f"{query} lists {sorted(found)}"


# --- search attributes: the ops list filters ------------------------------------------------

@pytest.mark.slow  # a dev server of its own
async def test_search_attributes_are_current_at_every_transition(keys, engine):
    async with dev_server(keys, engine) as env:
        client, complaints = env.client, Complaints(env.client, TEST_QUEUE)
        now = datetime.now(UTC)

        def due(after: timedelta) -> str:
            return f'"{rfc3339(now + after)}"'

        await open_cases(client)
        await assert_listed(client, 'TelecomCaseType="complaint" AND TelecomCaseState="inProgress"', "complaint-C1")
        await assert_listed(client, 'TelecomCaseState="acknowledged"', "complaint-C2")
        await assert_listed(client, 'TelecomAssignee="h.li"', "complaint-C1")
        await assert_listed(client, "TelecomSlaBreached=true", "complaint-C2")
        await assert_listed(client, "TelecomSlaBreached=false", "complaint-C1")
        # Due (or overdue) within 24 h: C2's reply was due a day ago; C1's is due in 15 days.
        await assert_listed(client, f"TelecomNextDue < {due(timedelta(hours=24))}", "complaint-C2")
        await assert_listed(client, f"TelecomNextDue > {due(timedelta(days=14))} AND "
                                    f"TelecomNextDue < {due(timedelta(days=16))}", "complaint-C1")
        await assert_listed(client, 'TelecomCustomerRef="CUST-1001"', "complaint-C1", "complaint-C2")

        await complaints.record_findings("C1", RecordFindings(findings="光衰过大", actor="h.li"))
        await complaints.send_reply("C1", SendReply(reply="已修复", actor="h.li"))
        # Resolved: the next due time is now the end of the customer's 7-day confirmation window.
        await assert_listed(client, f'TelecomCaseState="resolved" AND TelecomNextDue > {due(timedelta(days=6))} '
                                    f"AND TelecomNextDue < {due(timedelta(days=8))}", "complaint-C1")
        await complaints.confirm("C1", ConfirmReply(satisfied=True))
        await complaints.submit_closure("C1", CLOSURE)
        await assert_listed(client, 'TelecomCaseState="closed" AND TelecomNextDue IS NULL', "complaint-C1")
        await assert_listed(client, 'TelecomCaseType="complaint" AND ExecutionStatus="Running"', "complaint-C2")
        attributes = (await client.get_workflow_handle("complaint-C1").describe()).typed_search_attributes
        assert attributes.get(search.STATE) == "closed" and attributes.get(search.ASSIGNEE) == "h.li"
        assert attributes.get(search.NEXT_DUE) is None and attributes.get(search.SLA_BREACHED) is False


@pytest.mark.slow  # a dev server and the `temporal` CLI as processes
async def test_the_temporal_cli_decodes_through_the_codec_server_with_the_token(keys, engine, codec_url):
    async with dev_server(keys, engine) as env:
        await open_cases(env.client)
        address = env.client.service_client.config.target_host

        # As an operator runs it; asynchronously, since the codec server shares this event loop.
        cli = await asyncio.create_subprocess_exec(
            binary("temporal"), "workflow", "show", "-w", "complaint-C1", "--address", address,
            "--codec-endpoint", codec_url, "--codec-auth", f"Bearer {TOKEN}", "-o", "json",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(cli.communicate(), timeout=30)
        assert cli.returncode == 0, err.decode()
        started = json.loads(out)["events"][0]["workflowExecutionStartedEventAttributes"]
        [payload] = started["input"]["payloads"]  # decoded: plain JSON again, base64 in the CLI's output
        assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"
        assert json.loads(base64.b64decode(payload["data"]))["customer"]["name"] == NAME


# --- the Web UI -----------------------------------------------------------------------------

async def sign_in_and_use_the_codec(page: Page, codec_url: str) -> None:
    """What an operator does once per browser: sign in to the codec server with the token, then
    in the UI's Codec Server settings send credentials to it (the cluster setting cannot)."""
    await page.goto(f"{codec_url}/login")
    await page.get_by_label("Codec token").fill(TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{urllib.parse.urlsplit(page.url).scheme}://localhost:*/**")
    await page.get_by_label("Codec Server is configured").click()
    await page.get_by_text("Use my browser setting and ignore Cluster-level setting.").click()
    await page.get_by_role("textbox").last.fill(codec_url)
    await page.get_by_text("Include cross-origin credentials").click()
    await page.get_by_role("button", name="Apply").click()


def case_page(ui: str, workflow_id: str, run_id: str, tab: str = "history") -> str:
    return f"{ui}/namespaces/default/workflows/{workflow_id}/{run_id}/{tab}"


def list_page(ui: str, query: str) -> str:
    return f"{ui}/namespaces/default/workflows?query={urllib.parse.quote(query)}"


async def test_ops_filter_cases_and_read_one_decoded_once_signed_in(keys, engine, codec_url, ui_port, browser,
                                                                    tmp_path):
    ui = f"http://localhost:{ui_port}"
    async with dev_server(keys, engine, "--ui-codec-endpoint", codec_url, ui_port=ui_port) as env:
        runs = await open_cases(env.client)
        page = await (await browser.new_context(viewport={"width": 1600, "height": 1000})).new_page()
        await sign_in_and_use_the_codec(page, codec_url)

        await page.goto(list_page(ui, 'TelecomCaseType="complaint" AND TelecomCaseState="inProgress"'))
        await expect(page.get_by_role("link", name="complaint-C1")).to_be_visible(timeout=UI_WAIT)
        await expect(page.get_by_role("link", name="complaint-C2")).to_have_count(0)
        await page.screenshot(path=tmp_path / "1-list-in-progress.png")

        # Within the loaded UI, tabs are quick; a fresh page load costs seconds of script on 2 cores.
        await page.goto(case_page(ui, "complaint-C1", runs["complaint-C1"]))
        await expect(page.get_by_text(f'"{NAME}"').first).to_be_visible(timeout=UI_WAIT)
        await expect(page.get_by_text(f'"{PHONE}"').first).to_be_visible()
        await page.screenshot(path=tmp_path / "2-case-decoded.png")
        await page.get_by_role("tab", name="User Metadata").click()
        # Summary and current details are rendered (as markdown) in frames of their own.
        await expect(page.frame_locator("#user-metadata-summary").get_by_text(SUMMARY)).to_be_visible(timeout=UI_WAIT)
        await expect(page.frame_locator("#user-metadata-current-details").get_by_text(
            "inProgress · category network_quality · awaiting findings")).to_be_visible()
        await page.screenshot(path=tmp_path / "3-case-summary.png")


async def raw_input_data(client: Client, workflow_id: str) -> str:
    """The start of the case input's ciphertext as the UI shows an undecoded payload (base64)."""
    plain = Client(client.service_client, namespace=client.namespace, data_converter=contract_data_converter)
    history = await plain.get_workflow_handle(workflow_id).fetch_history()
    payload = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    return base64.b64encode(payload.data).decode()[:32]


async def everything_shown(page: Page) -> str:
    """The page, including what its frames render: the UI passes their text in the frame's URL."""
    return urllib.parse.unquote(await page.content())


async def assert_no_personal_data(page: Page, ciphertext: str) -> None:
    await expect(page.locator("body")).to_contain_text(ciphertext, timeout=UI_WAIT)  # the input has rendered
    shown = await everything_shown(page)
    assert NAME not in shown and PHONE not in shown


async def test_not_signed_in_the_case_page_shows_no_personal_data(keys, engine, codec_url, ui_port, browser,
                                                                  tmp_path):
    ui = f"http://localhost:{ui_port}"
    async with dev_server(keys, engine, "--ui-codec-endpoint", codec_url, ui_port=ui_port) as env:
        runs = await open_cases(env.client)
        page = await (await browser.new_context(viewport={"width": 1600, "height": 1000})).new_page()
        codec_answers: list[int] = []
        page.on("response", lambda r: codec_answers.append(r.status) if r.url.startswith(codec_url) else None)
        await page.goto(case_page(ui, "complaint-C1", runs["complaint-C1"]))
        await expect(page.locator("#content").get_by_text("Codec Server could not connect")).to_be_visible(
            timeout=UI_WAIT)
        await assert_no_personal_data(page, await raw_input_data(env.client, "complaint-C1"))
        await page.screenshot(path=tmp_path / "4-case-not-signed-in.png")
        assert codec_answers and set(codec_answers) == {401}


async def test_without_a_codec_endpoint_the_case_page_shows_no_personal_data(keys, engine, ui_port, browser,
                                                                            tmp_path):
    ui = f"http://localhost:{ui_port}"
    async with dev_server(keys, engine, ui_port=ui_port) as env:
        runs = await open_cases(env.client)
        page = await (await browser.new_context(viewport={"width": 1600, "height": 1000})).new_page()
        await page.goto(case_page(ui, "complaint-C1", runs["complaint-C1"]))
        await assert_no_personal_data(page, await raw_input_data(env.client, "complaint-C1"))
        await page.get_by_role("tab", name="User Metadata").click()
        await expect(page.get_by_role("heading", name="Summary")).to_be_visible(timeout=UI_WAIT)
        await expect(page.get_by_role("heading", name="Current Details")).to_be_visible()
        shown = await everything_shown(page)
        assert "network_quality" not in shown and NAME not in shown  # summaries and details are encrypted too
        await page.screenshot(path=tmp_path / "5-case-no-codec.png")

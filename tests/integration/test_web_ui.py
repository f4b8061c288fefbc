"""The web interface over HTTP on a real PostgreSQL: sign-in form with CSRF (its throttle:
test_login_throttle.py), CSRF on cookie-authenticated API calls, escaping of residents' texts,
roles on the pages, the programme pages, and a queue of 10,000 open incidents. In a real browser:
tests/e2e/test_browser.py.
"""

import re
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, text

from kernel.clock import Clock
from kernel.contracts.messages import SourceKind, vk_message_id
from kernel.db.schema import incidents
from kernel.observability import Metrics
from services.auth.roles import Role
from services.auth.store import add_user
from services.web.app import create_app
from sla.domain.lifecycle import Reject
from sla.stage import SlaContext, open_sla
from tests.conftest import SettingsFactory
from tests.factories import GROUP, classified, raw_message
from tests.moments import MOSCOW, every_moment

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2"> Прорвало трубу'


@pytest.fixture
async def web(
    settings_factory: SettingsFactory, database_url: str, clock: Clock
) -> AsyncIterator[tuple[httpx.AsyncClient, SlaContext]]:
    settings = settings_factory(database_url=database_url)
    context = await open_sla(settings, Metrics())
    async with context.db.transaction() as connection:
        for login, role in {"anna": Role.MODERATOR, "vera": Role.VIEWER}.items():
            await add_user(
                connection, login=login, password=PASSWORD, role=role, display_name=login.title()
            )
    now = clock()
    await context.service.on_classified(classified(raw_message(1, text=XSS, created_at=now)))
    for item in range(2, 5):
        message = raw_message(item, text=f"Сосед {item}", created_at=now - timedelta(hours=item))
        await context.service.on_classified(classified(message))
    transport = httpx.ASGITransport(app=create_app(context, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client, context
    await context.db.close()


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def meta_token(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert found, html
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, login: str, password: str = PASSWORD
) -> httpx.Response:
    page = await client.get("/login")
    return await client.post(
        "/login",
        data={"login": login, "password": password, "csrf_token": form_token(page.text),
              "next": "/queue"},
    )  # fmt: skip


async def test_pages_send_a_stranger_to_the_login_form_and_back(
    web: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, _ = web
    page = await client.get("/queue?status=all")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/queue%3Fstatus%3Dall"
    form = await client.get(page.headers["location"])
    assert 'name="next" value="/queue?status=all"' in form.text
    signed = await client.post(
        "/login",
        data={"login": "anna", "password": PASSWORD, "csrf_token": form_token(form.text),
              "next": "https://evil.example/"},
    )  # fmt: skip
    assert signed.status_code == 303
    assert signed.headers["location"] == "/queue"  # never a foreign site
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


async def test_the_login_form_needs_its_csrf_token(
    web: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, _ = web
    await client.get("/login")
    forged = await client.post(
        "/login", data={"login": "anna", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    assert "Форма входа устарела" in forged.text
    assert "otklik_session" not in forged.headers.get("set-cookie", "")


async def test_cookie_sessions_need_the_csrf_token_for_every_action(
    web: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, _ = web
    assert (await sign_in(client, "anna")).status_code == 303
    page = await client.get("/queue")
    incident = re.findall(r'data-id="([^"]+)"', page.text)[0]
    url = f"/api/incidents/{incident}/claim"
    assert (await client.post(url)).status_code == 403
    assert (await client.post(url, headers={"X-CSRF-Token": "nope"})).status_code == 403
    claimed = await client.post(url, headers={"X-CSRF-Token": meta_token(page.text)})
    assert claimed.status_code == 200, claimed.text
    assert (await client.post("/api/logout")).status_code == 403
    logout = await client.post("/logout", data={"csrf_token": "nope"})
    assert logout.status_code == 403
    logout = await client.post("/logout", data={"csrf_token": meta_token(page.text)})
    assert logout.status_code == 303
    assert (await client.get("/queue")).status_code == 303  # the session is gone


async def test_residents_text_is_escaped_everywhere(
    web: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, _ = web
    await sign_in(client, "anna")
    queue = await client.get("/queue")
    assert queue.status_code == 200
    assert "default-src 'self'" in queue.headers["content-security-policy"]
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in queue.text
    assert "<script>window.__xss" not in queue.text and "<img src=x" not in queue.text
    ids = re.findall(r'<tr class="row" data-id="([^"]+)"', queue.text)
    pages = [await client.get(f"/incidents/{incident}") for incident in ids]
    own = next(page for page in pages if 'id="message-text">&lt;script&gt;' in page.text)
    assert "<script>window.__xss" not in own.text
    thread = own.text.split('<section class="card thread">')[1].split("</section>")[0]
    assert thread.count("Сосед") == 3  # the thread: the other messages of the same post


async def test_a_comment_shows_the_post_it_was_written_under(
    web: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, context = web
    comment = raw_message(2)
    post = comment.model_copy(
        update={
            "message_id": vk_message_id(SourceKind.VK_WALL, -GROUP, 1, 0),
            "source_kind": SourceKind.VK_WALL,
            "text": "Отключение воды <b>во вторник</b>: график в комментариях",
            "created_at": comment.created_at - timedelta(hours=1),
        }
    )
    await context.service.on_classified(classified(post, incident=False))
    await sign_in(client, "anna")
    queue = await client.get("/queue", params={"status": "all"})
    pages = [
        (await client.get(f"/incidents/{incident}")).text
        for incident in re.findall(r'<tr class="row" data-id="([^"]+)"', queue.text)
    ]
    assert all('id="root-post"' in page for page in pages)  # every comment of the post
    assert "Отключение воды &lt;b&gt;во вторник&lt;/b&gt;" in pages[0]


async def test_a_viewer_sees_no_action_and_the_api_refuses_one(
    web: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, _ = web
    await sign_in(client, "vera")
    queue = await client.get("/queue")
    incident = re.findall(r'<tr class="row" data-id="([^"]+)"', queue.text)[0]
    page = await client.get(f"/incidents/{incident}")
    assert 'id="read-only"' in page.text and 'data-action="claim"' not in page.text
    refused = await client.post(
        f"/api/incidents/{incident}/claim", headers={"X-CSRF-Token": meta_token(page.text)}
    )
    assert refused.status_code == 403


@every_moment
async def test_the_programme_pages_and_drill_down(
    web: tuple[httpx.AsyncClient, SlaContext],
    moment: datetime,
) -> None:
    client, context = web
    await sign_in(client, "vera")
    month = moment.astimezone(MOSCOW).strftime("%Y-%m")
    # The pages never compute: before the aggregator's round they show how to get the numbers.
    unread = await client.get("/indicators", params={"period": month})
    assert unread.status_code == 200 and 'id="no-revision"' in unread.text
    assert f"otklik aggregate --once --month {month}" in unread.text
    await context.aggregator.run_once()
    page = await client.get("/indicators", params={"period": month})
    assert 'id="no-revision"' not in page.text
    assert page.status_code == 200, page.text
    assert "План и факт" in page.text and "<svg" in page.text
    assert f"/api/reports/plan-fact?period={month}&amp;format=xlsx" in page.text
    drill = f"/indicators/drill-down?month={month}&amp;municipality=testgrad&amp;measure=assigned"
    assert drill in page.text
    listed = await client.get(drill.replace("&amp;", "&"))
    assert listed.status_code == 200
    assert listed.text.count('<a class="number" href="/incidents/') == 4
    bad = await client.get("/indicators", params={"period": "2026-13"})
    assert bad.status_code == 422 and "не распознан" in bad.text
    xlsx = await client.get(f"/api/reports/plan-fact?period={month}&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


async def test_a_queue_of_ten_thousand_stays_responsive(
    web: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, context = web
    async with context.db.transaction() as connection:
        await connection.execute(text(BULK_MESSAGES))
        await connection.execute(text(BULK_INCIDENTS))
    await sign_in(client, "anna")
    timings = {}
    for path in ("/queue", "/queue?page=150", "/queue?status=all&municipality=testgrad&page=80"):
        started = time.perf_counter()
        response = await client.get(path)
        timings[path] = time.perf_counter() - started
        assert response.status_code == 200
        assert response.text.count('<tr class="row"') == 50
    print(f"queue of 10,000: {timings}")
    assert max(timings.values()) < 1.0, timings
    last = await client.get("/queue?page=201")
    assert "из 10 004" in last.text and last.text.count('<tr class="row"') == 4


BULK_MESSAGES = """
INSERT INTO messages (message_id, source_kind, channel, source_id, thread_key, text, attachments,
                      is_official, created_at, received_at, municipality)
SELECT 'bulk:' || g, 'vk_comment', 'vk', 'vk:-1', 'bulk:' || (g / 50), 'Жалоба номер ' || g,
       '[]', false, now() - g * interval '1 minute', now(), 'testgrad'
FROM generate_series(1, 10000) AS g
"""
BULK_INCIDENTS = """
INSERT INTO incidents (incident_id, message_id, channel, category, municipality, department,
                       status, seq, assigned_at, first_response_due, final_answer_due,
                       number_municipality, number_year, number)
SELECT 'bulk-' || g, 'bulk:' || g, 'vk', 'housing', 'testgrad', 'ЖКХ', 'assigned', 2, now(),
       now() + (g - 5000) * interval '1 minute', now() + interval '7 days', 'testgrad', 1900, g
FROM generate_series(1, 10000) AS g
"""


async def test_the_api_login_reads_json_only(web: tuple[httpx.AsyncClient, SlaContext]) -> None:
    """What a foreign page can send without a CORS preflight (a form, text/plain) is refused, so
    the API login needs no CSRF token (docs/web-ui.md, "Security")."""
    client, _ = web
    body = '{"login": "anna", "password": "correct horse battery"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        response = await client.post(
            "/api/login", content=body, headers={"Content-Type": content_type}
        )
        assert response.status_code == 422, content_type
        assert "otklik_session" not in response.headers.get("set-cookie", "")


async def test_every_status_can_be_filtered_and_an_unknown_filter_is_refused_visibly(
    web: tuple[httpx.AsyncClient, SlaContext],
) -> None:
    client, context = web
    message_id = raw_message(2).message_id
    async with context.db.engine.connect() as connection:
        rejected = await connection.scalar(
            select(incidents.c.incident_id).where(incidents.c.message_id == message_id)
        )
    assert rejected is not None
    await context.service.act(rejected, Reject("anna", "реклама"))
    await sign_in(client, "anna")
    # A wrong «не инцидент» must be findable to be undone.
    page = await client.get("/queue", params={"status": "rejected"})
    assert page.status_code == 200 and "refused-filters" not in page.text
    assert page.text.count('<tr class="row"') == 1 and "Сосед 2" in page.text
    assert '<option value="rejected" selected>' in page.text
    assert "Сосед 2" not in (await client.get("/queue")).text
    for name, value in (("status", "rejectd"), ("overdue", "maybe"), ("channel", "fax")):
        refused = await client.get("/queue", params={name: value})
        assert refused.status_code == 400, name
        assert f"значения «{value}» нет — не применён" in refused.text
        # The list is still shown without the refused filter, and so is the live refresh.
        assert refused.text.count('<tr class="row"') == 3, name
        refreshed = await client.get("/queue/results", params={name: value})
        assert refreshed.status_code == 200 and refreshed.text.count('<tr class="row"') == 3

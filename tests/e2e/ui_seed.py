"""Data for the browser tests: the bundled demo (the VK sample of a fictional city through every
stage, as `make demo` runs it), a few fresh incidents of today with a thread around them, one
comment carrying an XSS payload, and users of every role."""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from kernel.contracts.classification import ClassifiedMessage, Decision, Sentiment
from kernel.contracts.messages import (
    Author,
    Channel,
    RawMessage,
    SourceKind,
    vk_message_id,
    vk_thread_key,
)
from kernel.settings import Settings
from services.auth.roles import Role
from services.auth.store import add_user
from services.bundled import DEMO_DATA
from services.demo.embedded import run_embedded
from sla.stage import SlaContext

PASSWORD = "e2e-password-123"
USERS = {
    "anna": (Role.MODERATOR, "Анна Петрова"),
    "boris": (Role.MODERATOR, "Борис Иванов"),
    "vera": (Role.VIEWER, "Вера Смирнова"),
    "glava": (Role.SUPERVISOR, "Глеб Лавров"),
}
GROUP, POST = 210000001, 9100
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2"> Во дворе яма!'
FRESH = (  # (minutes ago, text, category, department, explanation)
    (35, "Третий день нет горячей воды на ул. Ленина, 40. Управляющая компания не отвечает.",
     "housing", "ЖКХ", ("горячей воды", "не отвечает")),
    (80, "На Садовой у школы №5 яма на всю полосу, машины объезжают по встречке.",
     "roads", "Дорожное хозяйство", ("яма", "полосу")),
    (150, "Контейнеры на Мира, 12 переполнены, мусор не вывозят с пятницы.",
     "cleaning", "Благоустройство и уборка", ("мусор", "не вывозят")),
    (400, "Автобус №7 утром не пришёл, ждали 40 минут на остановке «Рынок».",
     "transport", "Транспорт", ("автобус", "ждали")),
    (900, "Во дворе Школьной, 7 с утра не работает уличное освещение, дети идут в темноте.",
     "housing", "ЖКХ", ("не работает", "освещение")),
    (1600, "Бродячие собаки у детского сада №3 на Берёзовой, родители боятся водить детей.",
     "animals", "Благоустройство и уборка", ("собаки", "боятся")),
    (2900, "Когда починят лифт в доме 18 на Горняков? Третью неделю ходим пешком на 9 этаж.",
     "housing", "ЖКХ", ("лифт", "третью неделю")),
    (4400, "Снесли остановку на Заводской и не поставили новую, люди ждут автобус под дождём.",
     "transport", "Транспорт", ("остановку", "под дождём")),
)  # fmt: skip


def message(item: int, text: str, created: datetime, *, official: bool = False) -> RawMessage:
    return RawMessage(
        message_id=vk_message_id(SourceKind.VK_COMMENT, -GROUP, POST, item),
        source_kind=SourceKind.VK_COMMENT, channel=Channel.VK, source_id=f"vk:-{GROUP}",
        thread_key=vk_thread_key(SourceKind.VK_COMMENT, -GROUP, POST),
        author=Author(ref=f"vk:id{GROUP if official else 7000 + item}", is_official=official),
        text=text, created_at=created, received_at=created, municipality="severogorsk",
        url=f"https://vk.com/wall-{GROUP}_{POST}?reply={item}",
    )  # fmt: skip


def incident(raw: RawMessage, category: str, department: str, terms: tuple[str, ...]) -> Decision:
    return Decision(
        is_incident=True, score=0.91, threshold=0.5, category=category, department=department,
        sentiment=Sentiment.NEGATIVE, model_version="demo", explanation=terms,
    )  # fmt: skip


def post(text: str, created: datetime) -> RawMessage:
    """The community's post the fresh comments are written under: the root of their thread."""
    return message(0, text, created, official=True).model_copy(
        update={
            "message_id": vk_message_id(SourceKind.VK_WALL, -GROUP, POST, 0),
            "source_kind": SourceKind.VK_WALL,
            "url": f"https://vk.com/wall-{GROUP}_{POST}",
        }
    )


async def add_fresh(context: SlaContext, now: datetime) -> None:
    root = post("Отключения воды на неделе: график по улицам — в комментариях.", now
                - timedelta(hours=9))  # fmt: skip
    await context.service.on_classified(ClassifiedMessage(message=root))
    for item, (minutes, text, category, department, terms) in enumerate(FRESH, start=2):
        raw = message(item, text, now - timedelta(minutes=minutes))
        decision = incident(raw, category, department, terms)
        await context.service.on_classified(ClassifiedMessage(message=raw, decision=decision))
    raw = message(20, XSS, now - timedelta(minutes=20))
    decision = incident(raw, "roads", "Дорожное хозяйство", ("яма",))
    await context.service.on_classified(ClassifiedMessage(message=raw, decision=decision))


def demo_seed(settings: Settings) -> Callable[[SlaContext], Awaitable[None]]:
    async def seed(context: SlaContext) -> None:
        await run_embedded(settings, DEMO_DATA / "vk_sample.jsonl", serve=False, as_recorded=True)
        async with context.db.transaction() as connection:
            for login, (role, name) in USERS.items():
                await add_user(
                    connection, login=login, password=PASSWORD, role=role, display_name=name
                )
        await add_fresh(context, context.clock())

    return seed


async def new_incident(context: SlaContext, item: int, text: str) -> str:
    """One more incident arriving while the pages are open; its message id."""
    raw = message(item, text, context.clock())
    decision = incident(raw, "housing", "ЖКХ", ("подъезд",))
    await context.service.on_classified(ClassifiedMessage(message=raw, decision=decision))
    return raw.message_id

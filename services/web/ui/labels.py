"""Russian names of the codes the interface shows (statuses, events, categories, channels,
drill-down measures). Unknown codes are shown as they are rather than hidden."""

from collections.abc import Mapping

from kernel.contracts import incidents as contracts
from kernel.contracts.categories import Category
from kernel.contracts.incidents import EventType, Status

STATUSES: dict[str, str] = {
    Status.NEW: "новый",
    Status.ASSIGNED: "назначен",
    Status.IN_WORK: "в работе",
    Status.ANSWERED: "отвечен",
    Status.CLOSED: "закрыт",
    Status.REJECTED: "не инцидент",
    Status.SOURCE_DELETED: "удалён в источнике",
}
OPEN_STATUSES = tuple(status for status in Status if status in contracts.OPEN_STATUSES)
# The queue can be filtered by every status: a wrong «не инцидент» is found to be undone.
FILTER_STATUSES = tuple(Status)
FILTER_NAMES = {
    "status": "Статус", "municipality": "Муниципалитет", "department": "Отдел",
    "category": "Категория", "channel": "Канал", "overdue": "Срок",
    "due_within": "Истекает в течение", "view": "Показать",
}  # fmt: skip

EVENTS: dict[str, str] = {
    EventType.OPENED: "создан по сообщению",
    EventType.ASSIGNED: "назначен",
    EventType.CLAIMED: "взят в работу",
    EventType.RELEASED: "снят с работы",
    EventType.ANSWERED: "ответ",
    EventType.CLOSED: "закрыт",
    EventType.REJECTED: "«не инцидент»",
    EventType.REASSIGNED: "переназначен",
    EventType.REOPENED: "переоткрыт",
    EventType.RESTORED: "возвращён в работу (отмена «не инцидент»)",
    EventType.RECATEGORISED: "категория изменена",
    EventType.NOTED: "заметка",
    EventType.SOURCE_DELETED: "удалён в источнике",
    EventType.SOURCE_RESTORED: "восстановлен в источнике",
    EventType.ANSWER_EDITED: "ответ изменён в источнике",
    EventType.ANSWER_DELETED: "ответ удалён в источнике",
    EventType.ANSWER_POSTED: "ответ опубликован во ВКонтакте",
    EventType.ANSWER_FAILED: "ответ не опубликован во ВКонтакте",
    EventType.ANSWER_RETRIED: "повторная отправка ответа во ВКонтакте",
    EventType.DEADLINE_WARNING: "срок подходит",
    EventType.OVERDUE: "срок нарушен",
}

CATEGORIES: dict[str, str] = {
    Category.HOUSING: "ЖКХ",
    Category.ROADS: "Дороги",
    Category.CLEANING: "Уборка и мусор",
    Category.TRANSPORT: "Транспорт",
    Category.LANDSCAPING: "Благоустройство",
    Category.HEALTHCARE: "Здравоохранение",
    Category.EDUCATION: "Образование",
    Category.SAFETY: "Безопасность",
    Category.ECOLOGY: "Экология",
    Category.ANIMALS: "Животные",
    Category.SOCIAL: "Социальная защита",
    Category.ADMINISTRATION: "Администрация",
}

CHANNELS = {
    "vk": "ВКонтакте",
    "web": "Интернет-приёмная",
    "email": "Эл. почта",
    "import": "Выгрузка",
}

ROLES = {
    "viewer": "наблюдатель",
    "moderator": "модератор",
    "supervisor": "руководитель",
    "admin": "администратор",
}

MEASURES = {
    "assigned": "Назначено (N_назн)",
    "on_time": "Отработано в срок (N_отр)",
    "not_on_time": "Не в срок",
    "processed": "Обработано (есть ответ)",
    "excluded": "Исключено («не инцидент»)",
    "negative": "Негативные сообщения",
}

# Who did what in a history or an audit log, when it was otklik itself or a source, not a person
# (a person is shown by login).
ACTORS = {
    "classifier": "классификатор",
    "router": "маршрутизатор",
    "watcher": "контроль сроков",
    "source": "источник",
    "history": "загрузка истории",
    "ldap": "каталог LDAP",
    "vk": "ВКонтакте",
}


def actor_name(
    actor: str, channel: str | None = None, people: Mapping[str, str] | None = None
) -> str:
    """«источник (ВКонтакте)» for an incident's source, the Russian name of otklik's own
    actors, a user's name from ``people`` (login -> name), else the login as it is."""
    if people and actor in people:
        return people[actor]
    name = ACTORS.get(actor, actor)
    if actor == "source" and channel is not None:
        return f"{name} ({CHANNELS.get(channel, channel)})"
    return name


# The queue's own views of one's work (services/web/ui/queue_views.py).
VIEWS = {"mine": "мои", "mentions": "упоминания"}
DUE_WITHIN = {"1": "1 час", "4": "4 часа", "8": "8 часов", "24": "сутки", "72": "3 суток"}
PAGE_SIZES = (25, 50, 100)


def label(table: dict[str, str], code: str | None) -> str:
    if code is None:
        return "—"
    return table.get(code, code)

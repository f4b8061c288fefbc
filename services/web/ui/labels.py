"""Russian names of the codes the interface shows (statuses, events, categories, channels,
drill-down measures). Unknown codes are shown as they are rather than hidden."""

STATUSES = {
    "new": "новый",
    "assigned": "назначен",
    "in_work": "в работе",
    "answered": "отвечен",
    "closed": "закрыт",
    "rejected": "не инцидент",
    "source_deleted": "удалён в источнике",
}
OPEN_STATUSES = ("new", "assigned", "in_work", "answered")

EVENTS = {
    "opened": "создан по сообщению",
    "assigned": "назначен",
    "claimed": "взят в работу",
    "released": "снят с работы",
    "answered": "ответ",
    "closed": "закрыт",
    "rejected": "«не инцидент»",
    "reassigned": "переназначен",
    "reopened": "переоткрыт",
    "recategorised": "категория изменена",
    "source_deleted": "удалён в источнике",
    "deadline_warning": "срок подходит",
    "overdue": "срок нарушен",
}

CATEGORIES = {
    "housing": "ЖКХ",
    "roads": "Дороги",
    "cleaning": "Уборка и мусор",
    "transport": "Транспорт",
    "landscaping": "Благоустройство",
    "healthcare": "Здравоохранение",
    "education": "Образование",
    "safety": "Безопасность",
    "ecology": "Экология",
    "animals": "Животные",
    "social": "Социальная защита",
    "administration": "Администрация",
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

DUE_WITHIN = {"1": "1 час", "4": "4 часа", "8": "8 часов", "24": "сутки", "72": "3 суток"}
PAGE_SIZES = (25, 50, 100)


def label(table: dict[str, str], code: str | None) -> str:
    if code is None:
        return "—"
    return table.get(code, code)

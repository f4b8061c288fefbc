"""The delivery file checked against the policy (errors in Russian) and the e-mail's text."""

from datetime import UTC, datetime

import pytest

from kernel.contracts.indicators import IndicatorRecord
from sla.domain.report_mail import (
    RecipientsError,
    is_webhook,
    message_id,
    parse_recipients,
    recipient_label,
    subject,
    summary,
)

REGIONS = {"severogorsk": "demo", "zarechny": "demo", "testgrad": None}


def test_a_municipality_gets_its_own_and_its_regions_addresses_each_once() -> None:
    recipients = parse_recipients(
        {
            "municipalities": {"severogorsk": ["a@city.example"]},
            "regions": {"demo": ["r@region.example", "a@city.example"]},
        },
        REGIONS,
    )
    assert recipients.of("severogorsk") == ("a@city.example", "r@region.example")
    assert recipients.of("zarechny") == ("r@region.example", "a@city.example")
    assert recipients.of("testgrad") == ()
    assert parse_recipients(None, REGIONS).of("severogorsk") == ()


def test_a_webhook_url_is_a_recipient_shown_without_its_token() -> None:
    hook = "https://user:pass@stats.region.example:8443/otklik/reports?token=secret"
    recipients = parse_recipients({"regions": {"demo": [hook]}}, REGIONS)
    assert recipients.of("zarechny") == (hook,)
    assert is_webhook(hook) and not is_webhook("a@city.example")
    assert recipient_label(hook) == "https://stats.region.example:8443/otklik/reports"
    assert recipient_label("a@city.example") == "a@city.example"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"municipalities": {"nowhere": ["a@b.ru"]}}, "муниципалитет 'nowhere' не описан"),
        ({"regions": {"north": ["a@b.ru"]}}, "регион 'north' не описан в политике SLA"),
        ({"municipalities": {"zarechny": ["Иван Петров"]}}, "не похож ни на адрес e-mail"),
        ({"regions": {"demo": ["https://"]}}, "ни на адрес вебхука"),
        ({"regions": {"demo": ["https://region.example:port/x"]}}, "ни на адрес вебхука"),
        ({"regions": {"demo": ["https://region.example/a b"]}}, "ни на адрес вебхука"),
        ({"regions": {"demo": ["ftp://region.example/x"]}}, "ни на адрес вебхука"),
        ({"municipalities": {"zarechny": []}}, "нужен непустой список адресов"),
        ({"cities": {}}, "неизвестные ключи: cities"),
        (["a@b.ru"], "нужен словарь"),
    ],
)
def test_a_wrong_file_is_refused_saying_where(value: object, message: str) -> None:
    with pytest.raises(RecipientsError, match=message):
        parse_recipients(value, REGIONS)


def test_the_text_names_the_month_and_its_numbers() -> None:
    record = IndicatorRecord(
        municipality="severogorsk", month="2026-09", revision=2,
        computed_at=datetime(2026, 10, 5, 7, 0, tzinfo=UTC), n_assigned=3, n_handled_on_time=1,
        ratio=1 / 3, k_ob=1.0, a2=0.3333, threshold_t=150, share_processed=75.0,
        share_negative=12.5, n_messages=8, n_negative=1, n_positive_neutral=7, closed=True,
    )  # fmt: skip
    assert subject(record, "Северогорск") == (
        "Показатели обратной связи: Северогорск, сентябрь 2026 г., уточнение (ревизия 2)"
    )
    body = summary(record, "Северогорск", "январь — сентябрь 2026 г.")
    assert "A_2 (доля обработанных в срок с учётом k_об): 0,333" in body
    assert "Отработано в срок: 1 из 3" in body and "Доля обработанных сообщений: 75,0 %" in body
    assert message_id(record, "A@x.ru", "city.ru") == message_id(record, "a@x.ru", "city.ru")
    assert message_id(record, "a@x.ru", "city.ru").endswith("@city.ru>")

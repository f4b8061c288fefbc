"""The single command line: ``otklik <command>``. Each command builds Settings once (from
OTKLIK_* environment variables) and hands them down."""

import asyncio
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from kernel.observability import configure_logging
from kernel.settings import Settings
from kernel.yaml_text import ConfigFileError


class _Commands(TyperGroup):
    """Every command: a file otklik is configured with that cannot be used (kernel/yaml_files.py:
    too big, not UTF-8, an alias bomb, a value out of range) ends it with the file's name, the
    reason and code 2 — never a traceback, which would also print the chained validation error
    with the file's whole content."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context
        try:
            return super().invoke(ctx)
        except ConfigFileError as error:
            typer.echo(f"файл настройки не принят: {error}", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_Commands,
    help="otklik — обращения жителей: сбор, классификация, SLA и ежемесячные показатели.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
ingest_app = typer.Typer(help="Сбор сообщений в Kafka (ingest).", no_args_is_help=True)
classifier_app = typer.Typer(help="Модель классификатора: обучение и реестр.", no_args_is_help=True)
db_app = typer.Typer(
    help="База данных: миграции (вперёд, откат, текущая ревизия).", no_args_is_help=True
)
app.add_typer(ingest_app, name="ingest")
app.add_typer(classifier_app, name="classifier")
users_app = typer.Typer(help="Пользователи очереди модератора.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, settings.secret_values())
    return settings


@app.command()
def demo(
    sample: Annotated[Path | None, typer.Option(help="JSONL файл событий VK")] = None,
    serve: Annotated[
        bool, typer.Option(help="После воспроизведения обслуживать API и /metrics")
    ] = True,
    as_recorded: Annotated[
        bool,
        typer.Option(
            help="Даты событий как в файле (по умолчанию выборка сдвигается на целые недели, "
            "чтобы закончиться на этой неделе)"
        ),
    ] = False,
) -> None:
    """Весь конвейер в одном процессе: встроенная шина и PostgreSQL, демо-выборка VK."""
    from services.bundled import DEMO_DATA
    from services.demo.embedded import run_embedded

    settings = _settings()
    sample = sample or DEMO_DATA / "vk_sample.jsonl"
    asyncio.run(run_embedded(settings, sample, serve, as_recorded=as_recorded))


@ingest_app.command("replay")
def ingest_replay(file: Path) -> None:
    """Опубликовать события VK из JSONL-файла в Kafka (otklik.messages.raw.v1)."""
    from services.ingest_files import replay_to_kafka

    published, skipped = asyncio.run(replay_to_kafka(_settings(), file))
    typer.echo(f"published={published} skipped={skipped}")


@ingest_app.command("vk")
def ingest_vk() -> None:
    """VK в Kafka: Bots Long Poll управляемых сообществ и опрос стен отслеживаемых групп."""
    from services.ingest_vk import run_vk

    asyncio.run(run_vk(_settings()))


@ingest_app.command("http")
def ingest_http() -> None:
    """HTTP-приём: VK Callback API (/vk/callback) и обращения (/intake/ИСТОЧНИК)."""
    from services.ingest_http import run_ingest_http

    asyncio.run(run_ingest_http(_settings()))


@app.command()
def classify(
    input_file: Annotated[
        Path | None, typer.Option("--input", help="CSV (колонка text) или JSONL")
    ] = None,
    output_file: Annotated[
        Path | None, typer.Option("--output", help="Куда записать результат")
    ] = None,
) -> None:
    """Сервис классификатора (raw -> classified через Kafka) или, с --input/--output,
    пакетная разметка файла: добавляются is_incident, score, category."""
    settings = _settings()
    if input_file is None and output_file is None:
        from services.classify import run_classifier

        asyncio.run(run_classifier(settings))
        return
    if input_file is None or output_file is None:
        raise typer.BadParameter("нужны оба параметра: --input и --output")
    from classifier.batch import BatchInputError, classify_file
    from classifier.bootstrap import ensure_promoted_model

    model = ensure_promoted_model(settings.models_path).load_promoted()
    try:
        rows = classify_file(model, input_file, output_file)
    except BatchInputError as error:
        typer.echo(f"ошибка: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(f"classified {rows} rows with model {model.version} -> {output_file}")


@app.command()
def sla() -> None:
    """Сервис SLA: classified -> инциденты в PostgreSQL, события через outbox."""
    from services.sla_tracker import run_sla

    asyncio.run(run_sla(_settings()))


@app.command()
def aggregate(
    once: Annotated[
        bool, typer.Option(help="Один расчёт и выход (Kafka не обязательна: записи ждут в outbox)")
    ] = False,
    month: Annotated[
        str | None, typer.Option(help="С --once: пересчитать только этот месяц (YYYY-MM)")
    ] = None,
) -> None:
    """Агрегатор — единственный, кто пишет ревизии ежемесячных показателей, и их публикация.

    Без --once — служба: каждые OTKLIK_AGGREGATE_INTERVAL_SECONDS пересчитывает незакрытые
    месяцы и закрытые, чьи данные изменились, закрывает месяцы в срок. С --once — «посчитать
    сейчас»: ревизии записываются в базу и outbox, затем outbox передаётся в Kafka, если она
    доступна; если нет — записи остаются в outbox и их опубликует работающий агрегатор."""
    from services.aggregate import run_aggregator

    if month is not None:
        _check_month(month)
        if not once:
            raise typer.BadParameter("--month работает только с --once")
    asyncio.run(run_aggregator(_settings(), once=once, month=month))


@app.command()
def web() -> None:
    """Веб-интерфейс и API очереди модератора; /metrics — на OTKLIK_METRICS_PORT."""
    from services.web.serve import run_web

    asyncio.run(run_web(_settings()))


@app.command()
def replay(file: Path) -> None:
    """Загрузить историю (JSONL событий: message, assigned, claimed, answered, rejected,
    reassigned, closed, reopened, source_deleted, source_restored) через тот же код, что и
    живой поток: срок считается от сообщения жителя, события — по времени; всё или ничего.
    Формат — README, «Loading a history»."""
    from services.commands import replay_history_file
    from sla.domain.history import HistoryError

    try:
        report = asyncio.run(replay_history_file(_settings(), file))
    except HistoryError as error:
        typer.echo(f"история не загружена, ничего не применено:\n{error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(
        f"applied={report.applied} skipped_messages={len(report.skipped_messages)} (already loaded)"
    )
    if report.applied:
        typer.echo(
            "показатели пересчитает агрегатор (otklik aggregate); сразу: otklik aggregate --once",
            err=True,
        )


def _export_target(fmt: str, formats: tuple[str, ...], output: Path | None) -> None:
    if fmt not in formats:
        raise typer.BadParameter(f"--format: {', '.join(formats)}")
    from sla.reports.exports import BINARY_FORMATS

    if fmt in BINARY_FORMATS and output is None:
        raise typer.BadParameter(
            f"для --format {fmt} нужен --output ФАЙЛ ({fmt.upper()} — двоичный файл)"
        )


@app.command()
def indicators(
    month: Annotated[str, typer.Option(help="Месяц YYYY-MM")],
    municipality: Annotated[str | None, typer.Option(help="Муниципалитет")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json, csv или xlsx")] = "json",
    output: Annotated[
        Path | None, typer.Option(help="Файл результата (для xlsx обязателен); иначе stdout")
    ] = None,
    revision: Annotated[
        int | None, typer.Option(help="Номер прежней ревизии (нужен --municipality)")
    ] = None,
) -> None:
    """Показатели месяца из опубликованных ревизий (последняя каждого муниципалитета или
    --revision N; в каждой строке — revision и computed_at). Ничего не пересчитывает: ревизии
    пишет агрегатор (otklik aggregate; сейчас — otklik aggregate --once --month YYYY-MM).
    Нет ревизии за месяц с данными — код 1; неизвестный муниципалитет или ревизия — код 2.
    XLSX: строка 1 — заголовки по-русски, строка 2 — имена полей."""
    from services.commands import month_indicators, run_read
    from sla.reports.exports import INDICATOR_FORMATS, emit, render_indicators

    _check_month(month)
    _export_target(fmt, INDICATOR_FORMATS, output)
    if revision is not None and municipality is None:
        raise typer.BadParameter(
            "ревизии нумеруются у каждого муниципалитета: укажите --municipality"
        )
    records = run_read(month_indicators(_settings(), month, municipality, revision))
    emit(render_indicators(records, fmt), output)


@app.command()
def report(
    period: Annotated[str, typer.Option(help="Период: 2026, 2026-Q3, 2026-H2 или 2026-09")],
    municipality: Annotated[str | None, typer.Option(help="Муниципалитет (id)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="xlsx, pdf, html или json")] = "xlsx",
    output: Annotated[
        Path | None, typer.Option(help="Файл отчёта (для xlsx и pdf обязателен); иначе stdout")
    ] = None,
) -> None:
    """Отчёт план/факт программы: Показатель | План | Факт | Исполнение % | Оценка.

    Факт — среднее месячных значений (A_2, доли) или сумма (количество); исполнение —
    факт / план (для доли негативных — план / факт); от 95 % — «эффективно». Планы — из
    OTKLIK_PLANS_FILE; у каждого месяца указана ревизия, из которой взяты данные. Только
    опубликованные ревизии: месяц с данными без ревизии — код 1 и подсказка, неизвестный
    муниципалитет — код 2. XLSX и PDF готовы к печати: заголовок, A4 альбомная, шапка таблицы
    на каждой странице, строки для подписи."""
    from services.bundled import default_plans_file
    from services.commands import run_read
    from sla.domain.plans import PlansError
    from sla.reports.exports import (
        REPORT_FORMATS,
        ReportError,
        emit,
        plan_fact_report,
        render_report,
    )

    _export_target(fmt, REPORT_FORMATS, output)
    settings = _settings()
    plans = default_plans_file(settings)
    try:
        built = run_read(plan_fact_report(settings, plans, period, municipality))
    except (ReportError, PlansError) as error:
        typer.echo(f"отчёт не сформирован:\n{error}", err=True)
        raise typer.Exit(2) from error
    emit(render_report(built, fmt), output)
    if output is not None:
        typer.echo(f"отчёт за {built.period.label} ({fmt}) -> {output}")


@app.command()
def ranking(
    month: Annotated[str, typer.Option(help="Месяц YYYY-MM")],
    region: Annotated[
        str | None, typer.Option(help="Регион из файла политики; без него — все муниципалитеты")
    ] = None,
) -> None:
    """Свод по региону за месяц и рейтинг муниципалитетов по A_2 (JSON) из опубликованных
    ревизий. Нет ревизий — код 1; неизвестный регион — код 2."""
    from services.commands import run_read
    from sla.reports.indicator_views import region_view

    _check_month(month)
    rollup = run_read(region_view(_settings(), month, region))
    typer.echo(json.dumps(json.loads(rollup.model_dump_json()), ensure_ascii=False, indent=2))


@app.command("drill-down")
def drill_down(
    month: Annotated[str, typer.Option(help="Месяц YYYY-MM")],
    municipality: Annotated[str, typer.Option(help="Муниципалитет")],
    measure: Annotated[
        str,
        typer.Option(
            help="assigned (N_назн), on_time (N_отр), not_on_time, processed, excluded, negative"
        ),
    ] = "assigned",
    fmt: Annotated[str, typer.Option("--format", help="json или csv")] = "json",
    revision: Annotated[
        int | None, typer.Option(help="Ревизия, номер и время которой назвать (иначе последняя)")
    ] = None,
) -> None:
    """Инциденты (или сообщения), из которых сложилось число показателя: сроки, решение
    «вовремя» и его причина, политика SLA. Список — по данным на сейчас; ревизия (последняя
    или --revision N) — опубликованное число, в stderr. Ничего не пересчитывает: нет ревизии
    за месяц с данными — код 1; неизвестный муниципалитет или ревизия — код 2."""
    from services.commands import run_read
    from sla.reports.exports import emit, render_rows
    from sla.reports.indicator_views import drill_down_view
    from sla.storage.drilldown import Measure

    _check_month(month)
    try:
        chosen = Measure(measure)
    except ValueError as bad:
        raise typer.BadParameter(f"неизвестная мера {measure}") from bad
    if fmt not in {"json", "csv"}:
        raise typer.BadParameter("--format: json или csv")
    record, rows = run_read(drill_down_view(_settings(), month, municipality, chosen, revision))
    shown = "нет" if record is None else f"{record.revision} от {record.computed_at:%Y-%m-%d %H:%M}"
    typer.echo(f"{municipality} {month} ревизия {shown}: {measure} = {len(rows)}", err=True)
    emit(render_rows(rows, fmt), None)


def _check_month(month: str) -> None:
    from sla.domain.plan_fact import MONTH_PATTERN  # the web's rule: years 1900-2999

    if not re.fullmatch(MONTH_PATTERN, month):
        raise typer.BadParameter(f"месяц {month!r}: нужен YYYY-MM, год 1900–2999")


@app.command()
def redact(
    author: Annotated[
        str | None, typer.Option(help="Автор: vk:id123, адрес e-mail или иной id источника")
    ] = None,
    message: Annotated[str | None, typer.Option(help="Одно сообщение (message_id)")] = None,
    texts: Annotated[bool, typer.Option(help="Удалить и тексты сообщений")] = False,
) -> None:
    """Удалить персональные данные по запросу: имя, контакт и id автора (и тексты с --texts).
    Показатели не меняются: их входные данные остаются прежними."""
    from services.commands import redact_personal_data

    if (author is None) == (message is None):
        raise typer.BadParameter("укажите либо --author, либо --message")
    report = asyncio.run(
        redact_personal_data(_settings(), author_ref=author, message_id=message, texts=texts)
    )
    typer.echo(f"обезличено сообщений: {report.messages}; удалено текстов: {report.texts}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Применить миграции Alembic."""
    from kernel.db.engine import resolve_database_url
    from kernel.db.migrate import upgrade

    url, _handle = resolve_database_url(_settings())
    upgrade(url)
    typer.echo("database is at head")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Ревизия, к которой вернуться, например 0007")],
) -> None:
    """Откатить миграции до ревизии (возврат к предыдущей версии otklik; docs/operations.md)."""
    from kernel.db.engine import resolve_database_url
    from kernel.db.migrate import current, downgrade

    url, _handle = resolve_database_url(_settings())
    downgrade(url, revision)
    typer.echo(f"database is at {current(url)}")


@db_app.command("current")
def db_current() -> None:
    """Показать ревизию схемы базы данных."""
    from kernel.db.engine import resolve_database_url
    from kernel.db.migrate import current

    url, _handle = resolve_database_url(_settings())
    typer.echo(current(url) or "none")


@classifier_app.command("train")
def classifier_train(
    promote: Annotated[bool, typer.Option(help="Сразу сделать модель основной")] = False,
) -> None:
    """Обучить модель на корпусе из репозитория и сохранить версию в реестре."""
    from classifier.bootstrap import train_and_register
    from classifier.storage.registry import ModelRegistry

    info = train_and_register(ModelRegistry(_settings().models_path), promote=promote)
    typer.echo(json.dumps(info.meta, ensure_ascii=False, indent=2))


@classifier_app.command("promote")
def classifier_promote(version: str) -> None:
    """Сделать версию основной (сервисы подхватят её без перезапуска)."""
    from classifier.storage.registry import ModelRegistry

    ModelRegistry(_settings().models_path).promote(version)
    typer.echo(f"promoted {version} at {datetime.now(UTC).isoformat()}")


@classifier_app.command("list")
def classifier_list() -> None:
    """Версии моделей в реестре."""
    from classifier.storage.registry import ModelRegistry

    registry = ModelRegistry(_settings().models_path)
    promoted = registry.promoted_version()
    for info in registry.versions():
        mark = "*" if info.version == promoted else " "
        typer.echo(f"{mark} {info.version} {json.dumps(info.meta.get('held_out', {}))}")


@classifier_app.command("evaluate")
def classifier_evaluate(
    version: Annotated[
        str | None, typer.Option(help="Версия модели; по умолчанию основная")
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option(help="Куда записать отчёт; по умолчанию <data_dir>/reports/<версия>"),
    ] = None,
    rusentiment: Annotated[
        Path | None,
        typer.Option(
            help="Каталог или CSV RuSentiment (label,text) для проверки вне домена; "
            "по умолчанию ../shared/datasets/rusentiment, если он есть"
        ),
    ] = None,
    ood: Annotated[
        Path | None,
        typer.Option(
            help="CSV (label,text; метка 1 — инцидент, 0 — нет) с текстами не из корпуса, "
            "никогда не участвовавшими в обучении: точность и полнота вне распределения"
        ),
    ] = None,
    leave_one_out: Annotated[
        bool,
        typer.Option(
            "--leave-one-out",
            help="Ещё и полнота на каждой категории, исключённой из обучения "
            "(обучает по модели на категорию: около минуты)",
        ),
    ] = False,
) -> None:
    """Оценить модель на отложенной выборке корпуса: точность, полнота, F1, F1 по категориям,
    отдельно письменные обращения и комментарии, матрица ошибок, PR-кривая; с --ood — набор
    вне распределения, с --leave-one-out — полнота на неизвестной модели категории;
    report.json, report.md и pr_curve.png."""
    from classifier.bootstrap import ensure_promoted_model
    from classifier.corpus import load_corpus, split
    from classifier.evaluation import (
        DEFAULT_RUSENTIMENT,
        LabelledTextsError,
        build_report,
        leave_one_category_out,
        summary,
        write_report,
    )
    from classifier.storage.registry import ModelRegistry
    from classifier.training import train

    settings = _settings()
    # Like `classify`, a fresh installation evaluates the default model it trains on first use.
    registry = (
        ensure_promoted_model(settings.models_path)
        if version is None
        else ModelRegistry(settings.models_path)
    )
    chosen = version or registry.promoted_version() or ""
    meta = next((i.meta for i in registry.versions() if i.version == chosen), None)
    if meta is None:
        typer.echo(f"ошибка: в реестре {settings.models_path} нет версии {chosen}", err=True)
        raise typer.Exit(2)
    if rusentiment is None and DEFAULT_RUSENTIMENT.exists():
        rusentiment = DEFAULT_RUSENTIMENT
    train_set, held_out = split(load_corpus())
    # Every incident of a left-out category is unseen by its model, the training ones too.
    everything = [*train_set, *held_out]
    loco = leave_one_category_out(train_set, everything, train) if leave_one_out else None
    try:
        report = build_report(
            registry.load(chosen),
            held_out,
            out_of_domain=rusentiment,
            ood_incidents=ood,
            loco=loco,
            meta=meta,
        )
    except LabelledTextsError as error:
        typer.echo(f"ошибка: {error}", err=True)
        raise typer.Exit(2) from error
    paths = write_report(report, report_dir or settings.data_dir / "reports" / chosen)
    for line in summary(report.data):
        typer.echo(line)
    typer.echo("отчёт: " + ", ".join(str(p) for p in paths))


@classifier_app.command(
    "retrain",
    help="Дообучить модель на корпусе и метках модераторов; сделать основной, только если лучше."
    "\n\nПретендент и основная модель сравниваются на отложенной выборке корпуса: претендент "
    "лучше, если его F1 строго выше, а полнота не ниже min(0.90, полнота основной). Версия "
    "претендента сохраняется в реестре в любом случае.",
)
def classifier_retrain(
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Не делать претендента основной (версия всё равно сохраняется)"
        ),
    ] = False,
) -> None:
    from classifier.retrain import format_report
    from services.retrain import retrain_from_labels

    report = retrain_from_labels(_settings(), dry_run=dry_run)
    typer.echo(format_report(report))


Municipalities = Annotated[
    list[str] | None,
    typer.Option("--municipality", help="Муниципалитет из политики SLA (можно несколько раз)"),
]
Regions = Annotated[
    list[str] | None,
    typer.Option("--region", help="Регион из политики SLA: все его муниципалитеты (повторяемо)"),
]
Departments = Annotated[
    list[str] | None,
    typer.Option("--department", help="Только это подразделение (можно несколько раз)"),
]
Actor = Annotated[
    str | None,
    typer.Option(help="Кто вносит изменение, для журнала (по умолчанию — пользователь ОС)"),
]
PasswordStdin = Annotated[bool, typer.Option(help="Прочитать пароль из stdin")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Пароль", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    login: str,
    role: Annotated[
        str, typer.Option(help="viewer, moderator, supervisor или admin")
    ] = "moderator",
    name: Annotated[str | None, typer.Option(help="Отображаемое имя")] = None,
    password_stdin: PasswordStdin = False,
    municipality: Municipalities = None,
    region: Regions = None,
    department: Departments = None,
    actor: Actor = None,
) -> None:
    """Создать пользователя (первого администратора: --role admin). Без --municipality и
    --region пользователь видит все муниципалитеты."""
    from services.commands import add_user, parse_role, run_account, scope_of

    chosen = parse_role(role)
    scope = scope_of(municipality, region, department)
    password = _password(password_stdin)
    settings = _settings()
    run_account(
        add_user(settings, login, password, chosen, name or login, scope=scope, actor=actor)
    )
    typer.echo(f"пользователь {login} ({chosen.value}) создан; область: {scope.describe()}")


@users_app.command("list")
def users_list(
    output: Annotated[str, typer.Option("--format", help="table или json")] = "table",
) -> None:
    """Пользователи: роль, область доступа, вход (local или каталог), отключён ли, сколько
    действующих сессий."""
    from services.commands import list_accounts

    if output not in {"table", "json"}:
        raise typer.BadParameter("формат: table или json", param_hint="--format")
    accounts = asyncio.run(list_accounts(_settings()))
    if output == "json":
        rows = [
            {
                "login": a.login, "role": a.role.value, "display_name": a.display_name,
                "scope": a.scope.to_json(), "origin": a.origin, "disabled": a.disabled,
                "created_at": a.created_at.isoformat(), "sessions": a.sessions,
            }
            for a in accounts
        ]  # fmt: skip
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    head = ("логин", "роль", "имя", "область доступа", "вход", "состояние", "создан", "сессий")
    table = [head] + [
        (
            a.login, a.role.value, a.display_name, a.scope.describe(), a.origin,
            "отключён" if a.disabled else "действует", f"{a.created_at:%Y-%m-%d}", str(a.sessions),
        )
        for a in accounts
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for row in table:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        typer.echo("  ".join(cells).rstrip())


@users_app.command("disable")
def users_disable(login: str, actor: Actor = None) -> None:
    """Отключить пользователя: вход запрещён, все его сессии завершаются сразу. Последнего
    администратора отключить нельзя."""
    from services.commands import cli_actor, disable_user, run_account

    done = run_account(disable_user(_settings(), login, cli_actor(actor)))
    typer.echo(f"пользователь {login} отключён" if done else f"{login} уже отключён")


@users_app.command("enable")
def users_enable(login: str, actor: Actor = None) -> None:
    """Снова разрешить вход отключённому пользователю."""
    from services.commands import cli_actor, enable_user, run_account

    done = run_account(enable_user(_settings(), login, cli_actor(actor)))
    typer.echo(f"пользователь {login} включён" if done else f"{login} уже включён")


@users_app.command("set-password")
def users_set_password(
    login: str, password_stdin: PasswordStdin = False, actor: Actor = None
) -> None:
    """Задать новый пароль; все сессии пользователя завершаются сразу."""
    from services.commands import cli_actor, reset_password, run_account

    password = _password(password_stdin)
    run_account(reset_password(_settings(), login, password, cli_actor(actor)))
    typer.echo(f"пароль {login} изменён, сессии завершены")


@users_app.command("set-role")
def users_set_role(
    login: str,
    role: Annotated[str, typer.Argument(help="viewer, moderator, supervisor или admin")],
    actor: Actor = None,
) -> None:
    """Сменить роль; все сессии пользователя завершаются сразу. Последнего администратора
    понизить нельзя."""
    from services.commands import cli_actor, parse_role, run_account, set_role

    chosen = parse_role(role)
    done = run_account(set_role(_settings(), login, chosen, cli_actor(actor)))
    typer.echo(f"роль {login}: {chosen.value}" if done else f"у {login} уже роль {chosen.value}")


@users_app.command("set-scope")
def users_set_scope(
    login: str,
    municipality: Municipalities = None,
    region: Regions = None,
    department: Departments = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Снять ограничения: все муниципалитеты и подразделения")
    ] = False,
    actor: Actor = None,
) -> None:
    """Задать область доступа (муниципалитеты, регионы, подразделения) вместо прежней; все
    сессии пользователя завершаются сразу."""
    from services.commands import cli_actor, run_account, scope_of, set_scope

    scope = scope_of(municipality, region, department)
    if everything == bool(scope.to_json()):
        message = "укажите --municipality, --region или --department, либо --all (но не вместе)"
        typer.echo(message, err=True)
        raise typer.Exit(2)
    done = run_account(set_scope(_settings(), login, scope, cli_actor(actor)))
    described = scope.describe()
    typer.echo(f"область {login}: {described}" if done else f"у {login} уже область: {described}")


@users_app.command("logout")
def users_logout(login: str, actor: Actor = None) -> None:
    """Завершить все сессии пользователя (вход при этом не запрещается)."""
    from services.commands import cli_actor, end_sessions, run_account

    ended = run_account(end_sessions(_settings(), login, cli_actor(actor)))
    typer.echo(f"сессий {login} завершено: {ended}")


@app.command("import")
def import_file(
    file: Path,
    source: Annotated[str, typer.Option(help="Канал импорта: id или имя из файла источников")],
    zone: Annotated[
        str, typer.Option(help="Часовой пояс дат без смещения в файле")
    ] = "Europe/Moscow",
) -> None:
    """Загрузить список обращений из CSV или XLSX (колонки — по настройке источника).
    Хорошие строки публикуются в Kafka, ошибочные перечисляются с номерами строк."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from ingest.appeals.importer import ImportFileError
    from ingest.sources_file import SourcesFileError
    from services.ingest_files import import_appeals

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise typer.BadParameter(f"неизвестный часовой пояс {zone}") from error
    try:
        report = asyncio.run(import_appeals(_settings(), file, source, zone))
    except (ImportFileError, SourcesFileError) as error:
        typer.echo(f"файл не импортирован, ничего не опубликовано:\n{error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(f"импортировано обращений: {report.imported}")
    if report.bad_count:
        typer.echo(f"строк с ошибками: {report.bad_count} (сохранены в dead letters)")
        for row, reason in report.bad_rows:
            typer.echo(f"  строка {row}: {reason}")
        if report.bad_count > len(report.bad_rows):
            typer.echo(f"  … показаны первые {len(report.bad_rows)}")
        raise typer.Exit(1)


@ingest_app.command("imap")
def ingest_imap(
    once: Annotated[bool, typer.Option(help="Проверить почтовые ящики один раз и выйти")] = False,
) -> None:
    """Забирать письма-обращения из почтовых ящиков (IMAP) каналов email в Kafka."""
    from services.ingest_mail import run_imap

    published = asyncio.run(run_imap(_settings(), once=once))
    if once:
        typer.echo(f"опубликовано писем: {published}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

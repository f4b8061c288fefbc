"""The human-readable files of an evaluation report: report.md and the PR-curve PNG.

The plot uses matplotlib's object API on an Agg canvas: no display, no pyplot global state, so it
is safe in a server process and in tests running side by side. matplotlib is an optional extra
(`otklik[plots]`, in the dev dependencies): the production image leaves its 35 MB out, and there
an evaluation writes its report without the picture.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def plot_pr_curve(
    precision: Sequence[float],
    recall: Sequence[float],
    stored: Mapping[str, float],
    prevalence: float,
    path: Path,
    title: str,
) -> bool:
    """Precision against recall over all thresholds, the stored threshold marked; the dashed
    line is the precision of flagging everything (the share of incidents). False, and no file,
    where matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return False
    figure = Figure(figsize=(6.4, 4.8), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(recall, precision, drawstyle="steps-post", label="все пороги")
    axes.axhline(
        prevalence, linestyle="--", color="grey", label=f"доля инцидентов {prevalence:.2f}"
    )
    axes.scatter(
        [stored["recall"]],
        [stored["precision"]],
        color="tab:red",
        zorder=3,
        label=f"сохранённый порог {stored['threshold']:.3f}",
    )
    axes.annotate(
        f"P={stored['precision']:.3f}\nR={stored['recall']:.3f}",
        (stored["recall"], stored["precision"]),
        textcoords="offset points",
        xytext=(-60, -35),
        arrowprops={"arrowstyle": "->", "color": "tab:red"},
    )
    axes.set_xlabel("Полнота (recall)")
    axes.set_ylabel("Точность (precision)")
    axes.set_xlim(0.0, 1.02)
    axes.set_ylim(0.0, 1.02)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left")
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return True


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _held_out_section(held: Mapping[str, Any], threshold: float, png_name: str | None) -> list[str]:
    c = held["confusion"]
    lines = [
        "## Отложенная выборка корпуса (held-out)",
        "",
        f"{held['n']} текстов, из них инцидентов {held['n_incidents']}. Выборка фиксирована "
        "хешем текста и не участвует ни в обучении, ни в выборе порога; но её тексты написаны "
        "теми же авторами, что и обучающие, поэтому это верхняя граница качества.",
        "",
        *_table(
            ["метрика", "значение"],
            [
                ["точность (precision)", f"{held['precision']:.4f}"],
                ["полнота (recall)", f"{held['recall']:.4f}"],
                ["F1", f"{held['f1']:.4f}"],
                [
                    "средняя точность (AP, площадь под PR-кривой)",
                    f"{held['average_precision']:.4f}",
                ],
            ],
        ),
        "",
        "Матрица ошибок:",
        "",
        *_table(
            ["", "отмечено", "не отмечено"],
            [["инцидент", c["tp"], c["fn"]], ["не инцидент", c["fp"], c["tn"]]],
        ),
        "",
        "Точность и полнота при разных порогах:",
        "",
        *_table(
            ["порог", "точность", "полнота", "отмечено"],
            [
                [
                    f"{p['threshold']:.3f}"
                    + (" (сохранённый)" if p["threshold"] == threshold else ""),
                    f"{p['precision']:.4f}",
                    f"{p['recall']:.4f}",
                    p["flagged"],
                ]
                for p in held["operating_points"]
            ],
        ),
        "",
        f"![PR-кривая]({png_name})"
        if png_name
        else "PR-кривая не нарисована: matplotlib не установлен (`pip install 'otklik[plots]'`).",
        "",
        "### F1 по категориям (среди настоящих инцидентов)",
        "",
        *_table(["категория", "F1"], [[k, f"{v:.4f}"] for k, v in held["category_f1"].items()]),
        "",
        "### Категории: настоящая (строки) и предсказанная (столбцы)",
        "",
        "`none` — инцидент не отмечен.",
        "",
    ]
    confusion = held["category_confusion"]
    labels = confusion["labels"]
    rows = [[label, *counts] for label, counts in zip(labels, confusion["matrix"], strict=True)]
    return lines + _table(["", *labels], rows)


def _out_of_domain_section(ood: Mapping[str, Any]) -> list[str]:
    rows = [
        [label, r["n"], r["flagged"], f"{r['share']:.1%}"] for label, r in ood["by_label"].items()
    ]
    overall = ood["overall"]
    rows.append(["всего", overall["n"], overall["flagged"], f"{overall['share']:.1%}"])
    return [
        "## Вне домена: RuSentiment",
        "",
        f"Источник: `{ood['source']}` ({', '.join(ood['files'])}), только чтение; на этих "
        "текстах модель не обучалась. Это личные посты ВКонтакте, а не обращения жителей: "
        "здесь видно, как часто модель срабатывает на обычную болтовню (positive, speech — "
        "приветствия и поздравления — должны отмечаться редко, negative — чаще).",
        "",
        *_table(["метка", "текстов", "отмечено как инцидент", "доля"], rows),
        "",
        "Доля всех текстов RuSentiment, отмеченных при других порогах:",
        "",
        *_table(
            ["порог", "доля"],
            [[t, f"{share:.1%}"] for t, share in ood["share_by_threshold"].items()],
        ),
    ]


def _generalisation_section(data: Mapping[str, Any]) -> list[str]:
    """By register, the out-of-distribution set and leave-one-category-out, where present."""
    lines: list[str] = []
    registers = data["held_out"].get("by_register") or {}
    if registers:
        rows = [
            [name, r["n"], r["n_incidents"], f"{r['precision']:.3f}", f"{r['recall']:.3f}",
             f"{r['f1']:.3f}"]
            for name, r in registers.items()
        ]  # fmt: skip
        lines += [
            "## Отложенная выборка по стилю текста",
            "",
            "formal — письменные обращения, casual — комментарии (эвристика `register_of`).",
            "",
            *_table(["стиль", "текстов", "инцидентов", "точность", "полнота", "F1"], rows),
            "",
        ]
    foreign = data.get("ood_incidents")
    if foreign:
        at = foreign["at_threshold"]
        lines += [
            "## Набор вне распределения",
            "",
            f"Источник: `{foreign['source']}`; {foreign['n']} текстов, инцидентов "
            f"{foreign['n_incidents']}. При пороге модели: точность {at['precision']:.3f}, "
            f"полнота {at['recall']:.3f}, F1 {at['f1']:.3f}.",
            "",
        ]
        if "at_recall_090" in foreign:
            needed = foreign["at_recall_090"]
            lines += [
                f"Порог, дающий полноту 0.90 на этом наборе: {needed['threshold']:.3f} "
                f"(точность {needed['precision']:.3f}); только для сведения.",
                "",
            ]
    loco = data.get("leave_one_category_out")
    if loco:
        rows = [[c, r["n"], r["found"], f"{r['recall']:.3f}"] for c, r in loco.items()]
        lines += [
            "## Категория, исключённая из обучения",
            "",
            "Для каждой категории — модель, обученная без её инцидентов, и доля этих инцидентов, "
            "которую она отмечает.",
            "",
            *_table(["категория", "инцидентов", "найдено", "полнота"], rows),
            "",
        ]
    return lines


def render_markdown(data: Mapping[str, Any], png_name: str | None) -> str:
    model = data["model"]
    lines = [
        f"# Оценка модели классификатора {model['version']}",
        "",
        f"Сформировано {data['generated_at']}; порог модели {model['threshold']:.6f}.",
    ]
    if "n_train" in model:
        lines.append(
            f"Обучена на {model['n_train']} текстах "
            f"(sha256 {str(model.get('training_data_sha256', '?'))[:12]}…)."
        )
    lines += ["", *_held_out_section(data["held_out"], model["threshold"], png_name)]
    extra = _generalisation_section(data)
    if extra:
        lines += ["", *extra[:-1]]
    if data.get("out_of_domain"):
        lines += ["", *_out_of_domain_section(data["out_of_domain"])]
    return "\n".join(lines) + "\n"

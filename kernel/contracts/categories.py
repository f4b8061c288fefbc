"""The incident categories: what the classifier assigns and moderators choose from, each with the
department an incident of it goes to unless its source routes it elsewhere."""

from enum import StrEnum


class Category(StrEnum):
    HOUSING = "housing"
    ROADS = "roads"
    CLEANING = "cleaning"
    TRANSPORT = "transport"
    LANDSCAPING = "landscaping"
    HEALTHCARE = "healthcare"
    EDUCATION = "education"
    SAFETY = "safety"
    ECOLOGY = "ecology"
    ANIMALS = "animals"
    SOCIAL = "social"
    ADMINISTRATION = "administration"


# Keyed by the str value too: a category read from a model or a request is looked up as it is.
DEPARTMENTS: dict[str, str] = {
    Category.HOUSING: "ЖКХ",
    Category.ROADS: "Дорожное хозяйство",
    Category.CLEANING: "Благоустройство и уборка",
    Category.TRANSPORT: "Транспорт",
    Category.LANDSCAPING: "Благоустройство и уборка",
    Category.HEALTHCARE: "Здравоохранение",
    Category.EDUCATION: "Образование",
    Category.SAFETY: "Безопасность",
    Category.ECOLOGY: "Экология",
    Category.ANIMALS: "Благоустройство и уборка",
    Category.SOCIAL: "Социальная защита",
    Category.ADMINISTRATION: "Приёмная главы",
}

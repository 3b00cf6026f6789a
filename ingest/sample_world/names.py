"""Believable Russian names for brands, legal entities, people and offers (deterministic)."""

from __future__ import annotations

import numpy as np

_SYL = [
    "ал",
    "ба",
    "ви",
    "гор",
    "да",
    "ес",
    "жи",
    "зе",
    "ка",
    "ла",
    "ми",
    "но",
    "ор",
    "пе",
    "ра",
    "со",
    "ти",
    "ум",
    "фа",
    "хо",
    "це",
    "ша",
    "юн",
    "яр",
    "ник",
    "тех",
    "вест",
]
_BRAND_SUFFIX = {
    "finance": ["Кредит", "Финанс", "Банк", "Займ"],
    "insurance": ["Страх", "Полис", "Гарант"],
    "hr": ["Работа", "Кадры", "Джоб"],
    "fmcg": ["Продукт", "Маркет", "Фуд"],
    "ecommerce": ["Шоп", "Маркет", "Стор"],
    "education": ["Школа", "Академия", "Курсы"],
    "travel": ["Тур", "Трэвел", "Авиа"],
    "telecom": ["Связь", "Телеком", "Мобайл"],
    "gaming": ["Геймс", "Плей", "Арена"],
    "auto": ["Авто", "Моторс", "Драйв"],
    "realty": ["Недвижимость", "Девелопмент", "Дом"],
    "health": ["Мед", "Клиник", "Здоровье"],
}
_INDUSTRY = {
    "finance": "Банки и МФО",
    "insurance": "Страхование",
    "hr": "HR и рекрутинг",
    "fmcg": "FMCG",
    "ecommerce": "Электронная коммерция",
    "education": "Онлайн-образование",
    "travel": "Туризм",
    "telecom": "Телеком",
    "gaming": "Игры",
    "auto": "Автомобили",
    "realty": "Недвижимость",
    "health": "Медицина и здоровье",
}
_PRODUCT = {
    "finance": ["Кредитная карта", "Потребкредит", "Дебетовая карта", "Займ до зарплаты"],
    "insurance": ["ОСАГО", "КАСКО", "Страхование ипотеки", "ДМС"],
    "hr": ["Вакансии курьеров", "Вакансии водителей", "Подработка"],
    "fmcg": ["Доставка продуктов", "Подписка на кофе", "Промокод"],
    "ecommerce": ["Первый заказ", "Электроника", "Одежда", "Товары для дома"],
    "education": ["Курс Python", "Английский язык", "Подготовка к ЕГЭ", "Курс дизайна"],
    "travel": ["Авиабилеты", "Отели", "Туры"],
    "telecom": ["Перенос номера", "Домашний интернет"],
    "gaming": ["MMORPG", "Мобильная стратегия", "Казуальная игра"],
    "auto": ["Тест-драйв", "Автокредит", "Выкуп авто"],
    "realty": ["Новостройки", "Ипотека", "Аренда"],
    "health": ["Онлайн-врач", "Анализы", "Аптека"],
}
_FIRST = [
    "Иван",
    "Анна",
    "Сергей",
    "Мария",
    "Алексей",
    "Елена",
    "Дмитрий",
    "Ольга",
    "Павел",
    "Татьяна",
    "Никита",
    "Юлия",
    "Артём",
    "Ксения",
    "Михаил",
    "Наталья",
]
_LAST = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
]
_TRANSLIT = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "е": "e",
        "ё": "e",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "й": "i",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "h",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "sch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "yu",
        "я": "ya",
    }
)
POSITIONS = [
    "Маркетолог",
    "Руководитель отдела маркетинга",
    "Бухгалтер",
    "Директор",
    "Менеджер по партнёрствам",
    "Performance-менеджер",
]


def translit(s: str) -> str:
    return s.lower().translate(_TRANSLIT)


def brand(rng: np.random.Generator, category: str) -> str:
    root = "".join(rng.choice(_SYL, size=2)).capitalize()
    return f"{root}{rng.choice(_BRAND_SUFFIX[category])}"


def industry(category: str) -> str:
    return _INDUSTRY[category]


def offer_title(rng: np.random.Generator, brand_name: str, category: str) -> str:
    return f"{brand_name} — {rng.choice(_PRODUCT[category])}"


def person(rng: np.random.Generator) -> tuple[str, str]:
    """A full name and a matching e-mail local part (personal data)."""
    first, last = str(rng.choice(_FIRST)), str(rng.choice(_LAST))
    female = first in {"Анна", "Мария", "Елена", "Ольга", "Татьяна", "Юлия", "Ксения", "Наталья"}
    last = last + "а" if female else last
    return f"{first} {last}", f"{translit(first)[0]}.{translit(last)}"


def phone(rng: np.random.Generator) -> str:
    n = rng.integers(0, 10, size=9)
    return f"+7 9{n[0]}{n[1]} {n[2]}{n[3]}{n[4]}-{n[5]}{n[6]}-{n[7]}{n[8]}"


def inn(rng: np.random.Generator) -> str:
    return "77" + "".join(str(x) for x in rng.integers(0, 10, size=8))

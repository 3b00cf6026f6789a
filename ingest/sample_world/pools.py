"""Value pools the tracker draws from: user agents (with commas and quotes), sub ids, IPv6."""

from __future__ import annotations

import numpy as np
import polars as pl

OS_BY_DEVICE = {
    "desktop": ["Windows", "macOS", "Linux"],
    "mobile": ["Android", "iOS"],
    "tablet": ["Android", "iPadOS"],
}
DEVICES = ["desktop", "mobile", "tablet"]
DEVICE_P = [0.3, 0.64, 0.06]

_UA = {
    "Windows": [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/{v}.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/{v}.0.0.0 YaBrowser/24.{m}.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    ],
    "macOS": [
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.{m} Safari/605.1.15",
    ],
    "Linux": [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/{v}.0.0.0 Safari/537.36"
    ],
    "Android": [
        "Mozilla/5.0 (Linux; Android 13; SM-A525F) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/{v}.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 14; 23053RN02Y Build/UP1A.231005.007; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/{v}.0.0.0 Mobile "
        'Safari/537.36 [FB_IAB/FB4A;FBAV/"44{m}.0.0"]',
        "Dalvik/2.1.0 (Linux; U; Android 12; Redmi Note 10 Build/SKQ1.{m}) VKAndroidApp/8.{m}",
    ],
    "iOS": [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.{m} Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_{m} like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) "
        'Mobile/15E148 Instagram 3{m}0.0.0 (iPhone14,5; iOS 16_{m}; ru_RU; "scale=3.00")',
    ],
    "iPadOS": [
        "Mozilla/5.0 (iPad; CPU OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.{m} Mobile/15E148 Safari/604.1"
    ],
}
_BOT_UA = [
    "python-requests/2.31.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/{v}.0.0.0 Safari/537.36",
    "curl/8.{m}.0",
    'Mozilla/5.0 (compatible; "ClickBot", +http://example.invalid/bot)',
]

OS_LIST = ["Windows", "macOS", "Linux", "Android", "iOS", "iPadOS"]


def user_agents() -> tuple[pl.Series, dict[str, np.ndarray], np.ndarray]:
    """All user agents as one Series, with the index range per OS and for bots."""
    out: list[str] = []
    by_os: dict[str, list[int]] = {}
    for os_name in OS_LIST:
        for tpl in _UA[os_name]:
            for v in (118, 120, 122, 124):
                for m in (1, 3, 5):
                    by_os.setdefault(os_name, []).append(len(out))
                    out.append(tpl.format(v=v, m=m))
    bots = []
    for tpl in _BOT_UA:
        for v, m in ((120, 1), (124, 4)):
            bots.append(len(out))
            out.append(tpl.format(v=v, m=m))
    return (
        pl.Series("user_agent", out),
        {k: np.array(v) for k, v in by_os.items()},
        np.array(bots),
    )


def sub_ids(rng: np.random.Generator, n: int = 2000) -> pl.Series:
    """Publishers' own labels: mostly tidy, some free text with commas, quotes and Cyrillic."""
    words = ["zima", "leto", "banner", "vk", "tg", "yandex", "push", "lp2", "promo", "retarget"]
    ru = ["Зима", "лендинг", "Акция", "тест"]
    out = []
    for i in range(n):
        r = rng.random()
        if r < 0.8:
            out.append(f"{rng.choice(words)}_{int(rng.integers(1, 500))}")
        elif r < 0.9:
            out.append(f"{rng.choice(ru)} {int(rng.integers(1, 9))}, вариант {i % 7}")
        else:
            out.append(f'creative "{rng.choice(words)}", v{int(rng.integers(1, 5))}')
    return pl.Series("sub_id", out)


def ipv6_pool(rng: np.random.Generator, n: int = 4096) -> pl.Series:
    prefixes = ["2a00:1fa0", "2a02:6b8", "2a03:d000", "2a01:540"]
    out = [
        f"{prefixes[i % 4]}:{int(rng.integers(0, 65536)):x}:{int(rng.integers(0, 65536)):x}"
        f"::{int(rng.integers(1, 65536)):x}"
        for i in range(n)
    ]
    return pl.Series("ip", out)


COUNTRIES = ["RU", "KZ", "BY", "UZ", "AM", ""]
COUNTRY_P = [0.84, 0.05, 0.04, 0.02, 0.01, 0.04]
REJECT_COMMENTS = [
    "Дубль заявки",
    "Невалидный телефон",
    "Нецелевой регион",
    "Отказ клиента",
    "Подозрение на фрод",
    "Не дозвонились",
]
GOAL_BY_MODEL = {
    "CPL": "lead",
    "CPA": "registration",
    "CPS": "sale",
    "RevShare": "sale",
    "CPI": "install",
}

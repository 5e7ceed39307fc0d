"""UI texts: Russian (default) and English. One key, two languages.

Pages read them through UiState.t["key"] so a language switch re-renders at once.
"""

from __future__ import annotations

_T: dict[str, tuple[str, str]] = {
    # brand and layout
    "brand": ("Мой МТС", "My MTS"),
    "nav.home": ("Главная", "Home"),
    "nav.money": ("Счёт", "Money"),
    "nav.tariffs": ("Тарифы", "Tariffs"),
    "nav.services": ("Услуги", "Services"),
    "nav.internet": ("Интернет", "Internet"),
    "nav.roaming": ("Роуминг", "Roaming"),
    "nav.bonus": ("МТС Бонус", "MTS Bonus"),
    "nav.detail": ("Детализация", "Detail"),
    "nav.family": ("МЫ МТС", "Family"),
    "nav.notifications": ("Уведомления", "Notifications"),
    "nav.settings": ("Настройки", "Settings"),
    "nav.support": ("Поддержка", "Support"),
    "nav.numbers": ("Мои номера", "My numbers"),
    "nav.sms": ("Отправить SMS", "Send SMS"),
    "nav.more": ("Ещё", "More"),
    "nav.label": ("Разделы кабинета", "Cabinet sections"),
    "header.switch_line": ("Выбранный номер", "Selected number"),
    "logout": ("Выйти", "Log out"),
    "lang.switch": ("English", "Русский"),
    "loading": ("Загрузка…", "Loading…"),
    "close": ("Закрыть", "Close"),
    "cancel": ("Отмена", "Cancel"),
    "confirm": ("Подтвердить", "Confirm"),
    "save": ("Сохранить", "Save"),
    "back": ("Назад", "Back"),
    "error.generic": ("Что-то пошло не так. Попробуйте ещё раз.", "Something went wrong. Please try again."),
    "session.expired": ("Сеанс завершён. Войдите снова.", "Your session has ended. Please log in again."),
    "session.idle": ("Сеанс завершён из-за 20 минут бездействия. Войдите снова.",
                     "You were logged out after 20 minutes of inactivity. Please log in again."),
    "demo.badge": ("Демо", "Demo"),
    # browser tab titles
    "title.login": ("Вход — Мой МТС", "Log in — My MTS"),
    "title.phone": ("Телефон (демо)", "Phone (demo)"),
    "title.mailbox": ("Почта (демо)", "Mail (demo)"),
    "title.home": ("Мой МТС", "My MTS"),
    "title.money": ("Счёт — Мой МТС", "Money — My MTS"),
    "title.tariffs": ("Тарифы — Мой МТС", "Tariffs — My MTS"),
    "title.services": ("Услуги — Мой МТС", "Services — My MTS"),
    "title.internet": ("Интернет — Мой МТС", "Internet — My MTS"),
    "title.roaming": ("Роуминг — Мой МТС", "Roaming — My MTS"),
    "title.bonus": ("МТС Бонус — Мой МТС", "MTS Bonus — My MTS"),
    "title.detail": ("Детализация — Мой МТС", "Detail — My MTS"),
    "title.family": ("МЫ МТС — Мой МТС", "Family — My MTS"),
    "title.notifications": ("Уведомления — Мой МТС", "Notifications — My MTS"),
    "title.sms": ("Отправить SMS — Мой МТС", "Send SMS — My MTS"),
    "title.support": ("Поддержка — Мой МТС", "Support — My MTS"),
    "title.numbers": ("Мои номера — Мой МТС", "My numbers — My MTS"),
    "title.settings": ("Настройки — Мой МТС", "Settings — My MTS"),
    "title.not_found": ("Страница не найдена — Мой МТС", "Page not found — My MTS"),
    # 404
    "notfound.title": ("Такой страницы нет", "There is no such page"),
    "notfound.text": ("Возможно, ссылка устарела или в адресе опечатка.",
                      "The link may be out of date, or the address has a typo."),
    "notfound.home": ("На главную", "Go to the home page"),
    # login
    "login.title": ("Вход в личный кабинет", "Log in to your account"),
    "login.subtitle": ("Мобильная связь МТС", "MTS mobile"),
    "login.phone": ("Номер телефона", "Phone number"),
    "login.by_code": ("По коду из SMS", "With an SMS code"),
    "login.by_password": ("По паролю", "With a password"),
    "login.get_code": ("Получить код", "Get a code"),
    "login.code": ("Код из SMS", "Code from SMS"),
    "login.code_sent": ("Мы отправили код на номер", "We sent a code to"),
    "login.resend": ("Отправить код ещё раз", "Send the code again"),
    "login.resend_in": ("Отправить код ещё раз можно через", "You can send the code again in"),
    "login.resent": ("Новый код отправлен. Прежний больше не действует.",
                     "A new code was sent. The previous one no longer works."),
    "login.password_empty": ("Введите пароль", "Enter the password"),
    "login.code_format": ("Код — это 6 цифр из SMS. Попытка не засчитана.",
                          "The code is the 6 digits from the SMS. This try was not counted."),
    "login.password": ("Пароль", "Password"),
    "login.submit": ("Войти", "Log in"),
    "login.change_number": ("Другой номер", "Another number"),
    "login.hint": ("Код действует 10 минут. После трёх неверных попыток вход блокируется на 10 минут.",
                   "The code is valid for 10 minutes. After three wrong attempts login is locked for 10 minutes."),
    "login.demo_logins": ("Демо-номера", "Demo numbers"),
    # phone panel (demo)
    "phone.title": ("Телефон (демо)", "Phone (demo)"),
    "phone.hint": ("SMS, пришедшие на номер. Только в демо-режиме.", "SMS received by a number. Demo mode only."),
    "phone.show": ("Показать SMS", "Show SMS"),
    "phone.empty": ("Сообщений нет", "No messages"),
    "phone.reply": ("Ответить", "Reply"),
    "phone.back": ("Вернуться в Мой МТС", "Back to My MTS"),
    # home
    "home.balance": ("Баланс", "Balance"),
    "home.topup": ("Пополнить", "Top up"),
    "home.bonus": ("Бонусы", "Bonus points"),
    "home.credit": ("Кредитный лимит", "Credit limit"),
    "home.tariff": ("Тариф", "Tariff"),
    "home.fee": ("Абонентская плата", "Monthly fee"),
    "home.per_month": ("в месяц", "a month"),
    "home.next_fee": ("Следующее списание", "Next charge"),
    "home.remaining": ("Остатки пакетов", "Remaining bundles"),
    "home.no_bundles": ("Пакетов нет: услуги оплачиваются по тарифу.",
                        "No bundles: everything is charged by the tariff."),
    "home.until": ("до", "until"),  # a bundle ending at a moment: «до 02.12.2026 14:35»
    "home.until_day": ("по", "until"),  # a bundle ending with a day (inclusive): «по 31.12.2026»
    "home.of": ("из", "of"),
    "home.latest": ("Последние списания", "Latest charges"),
    "home.no_charges": ("Списаний пока нет", "No charges yet"),
    "home.all_detail": ("Вся детализация", "Full detail"),
    "home.spending": ("Расходы за период", "Spending this period"),
    "home.spending_total": ("Всего", "Total"),
    "home.no_spending": ("В этом периоде списаний пока не было", "Nothing charged this period yet"),
    "home.all_spending": ("Все расходы", "All spending"),
    "home.notes": ("Последние уведомления", "Latest notifications"),
    "home.no_notes": ("Новых уведомлений нет", "No notifications"),
    "home.all_notes": ("Все уведомления", "All notifications"),
    "home.status": ("Статус номера", "Number status"),
    "home.owed": ("Задолженность по абонентской плате", "Fees owed"),
    "home.set_password": ("Установите постоянный пароль, чтобы входить без SMS.",
                          "Set a permanent password to log in without SMS."),
    "home.set_password_btn": ("Установить пароль", "Set a password"),
    "home.live": ("Обновляется в реальном времени", "Updates live"),
    "bucket.voice": ("Минуты", "Minutes"),
    "bucket.sms": ("SMS", "SMS"),
    "bucket.data": ("Интернет", "Internet"),
    "bucket.shared": ("из общего пакета", "from the shared bundle of"),
    "status.active": ("Активен", "Active"),
    "status.suspended": ("Приостановлен: не оплачена абонентская плата", "Suspended: fees unpaid"),
    "status.blocked": ("Заблокирован по вашему заявлению", "Blocked at your request"),
    "status.lost": ("Заблокирован: аппарат утрачен", "Blocked: device lost"),
    # password dialog
    "pwd.title": ("Постоянный пароль", "Permanent password"),
    "pwd.new": ("Новый пароль (не короче 8 символов)", "New password (at least 8 characters)"),
    "pwd.repeat": ("Повторите пароль", "Repeat the password"),
    "pwd.current": ("Текущий пароль", "Current password"),
    "pwd.mismatch": ("Пароли не совпадают", "The passwords differ"),
    "pwd.saved": ("Пароль сохранён", "Password saved"),
    "pwd.later": ("Позже", "Later"),
}

LANGS = ("ru", "en")
TEXTS: dict[str, dict[str, str]] = {lang: {k: v[i] for k, v in _T.items()} for i, lang in enumerate(LANGS)}


def add(texts: dict[str, tuple[str, str]]) -> None:
    """Page modules register their own texts (kept next to the page that uses them)."""
    for key, (ru, en) in texts.items():
        if key in _T and _T[key] != (ru, en):
            raise ValueError(f"text {key!r} defined twice differently")
        _T[key] = (ru, en)
        TEXTS["ru"][key] = ru
        TEXTS["en"][key] = en


def tr(key: str, lang: str = "ru") -> str:
    return TEXTS.get(lang, TEXTS["ru"]).get(key, key)


def plural(n: int, one: str, few: str, many: str) -> str:
    """The Russian plural form for n (CLDR rules, via Babel): 1 минута, 2 минуты, 5 минут, 11 минут."""
    from mts_portal.core.words import plural_category

    return {"one": one, "few": few}.get(plural_category(n, "ru"), many)


def count_word(n: int, lang: str, ru: tuple[str, str, str], en: tuple[str, str]) -> str:
    """The word that goes with n: 'запись' / 'записи' / 'записей' · 'record' / 'records'."""
    return plural(n, *ru) if lang != "en" else (en[0] if abs(n) == 1 else en[1])


def count_digits(n: int, lang: str) -> str:
    """n with grouped digits: '1 496' (ru, a no-break space) / '1,496' (en)."""
    return f"{n:,}".replace(",", "\u00a0") if lang != "en" else f"{n:,}"


def count_text(n: int, lang: str, ru: tuple[str, str, str], en: tuple[str, str]) -> str:
    """'1 запись' / '3 записи' / '5 записей' · '1 record' / '5 records', with grouped digits."""
    return f"{count_digits(n, lang)}\u00a0{count_word(n, lang, ru, en)}"

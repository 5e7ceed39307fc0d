"""The support chat's FAQ matcher: every FAQ's own question, in both languages, and two paraphrases
of it (worded the way people write, not copied from the entry) find that FAQ first."""

from __future__ import annotations

import pytest

from mts_portal.core import support

# two paraphrases per entry, written without looking at the entry's keywords; the matcher must find
# the entry through word forms and meaning, not through an exact copy of its question
PARAPHRASES = {
    "balance": ["Сколько денег у меня на счету?", "где посмотреть остаток средств"],
    "topup": ["Как пополнить баланс?", "хочу положить деньги на телефон с банковской карты"],
    "promise": ["Можно взять деньги в долг, если счёт пустой?", "как работает обещанный платеж"],
    "trust": ["Можно ли звонить при отрицательном балансе?", "уйти в минус и продолжать говорить"],
    "roaming": ["Еду за границу, как не потратить много на связь?", "сколько стоит связь в поездке по России"],
    "internet": ["Кончились гигабайты, как докупить трафик?", "нет интернета, трафик закончился"],
    "subscriptions": ["Списывают деньги за какую-то подписку", "как отключить платную подписку"],
    "detail": ["Где взять распечатку звонков?", "нужна выписка по звонкам и смс за месяц"],
    "password": ["Хочу поменять пароль от личного кабинета", "забыл пароль, как установить новый"],
    "lost": ["У меня украли телефон", "потерялся смартфон, как заблокировать сим-карту"],
    "family": ["Как раздать гигабайты детям?", "общий пакет минут для родственников"],
    "bonus": ["На что обменять баллы МТС Бонус?", "куда потратить накопленные бонусы"],
    "tariff": ["Подберите мне тариф подешевле", "какой тарифный план лучше выбрать"],
    "block": ["Уезжаю надолго, можно приостановить номер?", "добровольная блокировка номера"],
}
PARAPHRASES_EN = {
    "balance": ["how much money is left on my account", "where can I see my balance"],
    "topup": ["how to top up my balance", "add money with a bank card"],
    "promise": ["borrow money when my balance is empty", "how does a promised payment work"],
    "trust": ["can I keep calling with a negative balance", "go below zero"],
    "roaming": ["travelling abroad, how not to pay too much", "roaming prices on a trip"],
    "internet": ["I ran out of data", "buy more gigabytes"],
    "subscriptions": ["unknown charges for a subscription", "cancel a paid subscription"],
    "detail": ["download a statement of my calls", "where is the call report"],
    "password": ["change my login password", "set a new password"],
    "lost": ["my phone was stolen", "I lost my phone, block the number"],
    "family": ["share my gigabytes with my family", "add my kids to a family group"],
    "bonus": ["what can I exchange my bonus points for", "spend my points"],
    "tariff": ["which tariff is cheaper for me", "find the best tariff"],
    "block": ["suspend my number while I am away", "block my number temporarily"],
}


def test_every_faq_has_paraphrases():
    assert set(PARAPHRASES) == {f.id for f in support.FAQ} == set(PARAPHRASES_EN)


@pytest.mark.parametrize("faq", support.FAQ, ids=lambda f: f.id)
def test_own_question_finds_the_entry(faq):
    assert support.search(faq.q_ru)[0][0].id == faq.id
    assert support.search(faq.q_en)[0][0].id == faq.id
    assert support.chat_answer(faq.q_ru).faq_id == faq.id
    assert support.chat_answer(faq.q_en, "en").faq_id == faq.id


@pytest.mark.parametrize("faq_id,text", [(k, t) for k, ts in PARAPHRASES.items() for t in ts]
                         + [(k, t) for k, ts in PARAPHRASES_EN.items() for t in ts])
def test_paraphrase_finds_the_entry(faq_id, text):
    hits = support.search(text)
    assert hits and hits[0][0].id == faq_id, [(f.id, s) for f, s in hits[:3]]
    assert support.chat_answer(text).faq_id == faq_id


def test_top_up_is_not_answered_with_checking_the_balance():
    """The reported case: «Как пополнить баланс?» got the text about checking the balance."""
    reply = support.chat_answer("Как пополнить баланс?")
    assert reply.faq_id == "topup" and "Пополнить" in reply.text


def test_unrelated_text_hands_over():
    assert support.chat_answer("абракадабра фыва").handover
    assert support.chat_answer("Как дела?").handover
    assert support.search("") and support.search("")[0][1] == 0

"""Made-up identifiers that look and check like real ones: card numbers from the networks' test
BIN ranges (Luhn-valid), IBANs with correct check digits, US routing numbers, names,
addresses in the right country, phone numbers from fictional ranges, IPs and device ids.

Every value is drawn from the ``random.Random`` passed in, so a seed gives the same people.
None of them holds a Luhn-valid run of 13-19 digits except a card number itself: the vault
masks such runs anywhere else, which would change the value that reaches the features.

>>> from random import Random
>>> rng = Random(1)
>>> from riskloop.domain.cards import luhn_valid
>>> luhn_valid(card_number(rng, "411111"))
True
>>> iban_valid(iban(rng, "DE")), len(iban(rng, "DE"))
(True, 22)
>>> aba_valid(aba_routing(rng))
True
"""

from __future__ import annotations

from datetime import date, timedelta
from random import Random
from typing import Any

from riskloop.domain.cards import card_numbers

# Networks' published test ranges: real processors treat them as test cards.
BINS: tuple[tuple[str, str], ...] = (
    ("visa", "411111"),
    ("visa", "424242"),
    ("visa", "400000"),
    ("mastercard", "555555"),
    ("mastercard", "510510"),
    ("mastercard", "222300"),
)

_LANG = {
    "GB": "en", "IE": "en", "US": "en", "FR": "fr", "BE": "fr", "DE": "de", "AT": "de",
    "ES": "es", "IT": "it", "NL": "nl", "PT": "pt", "FI": "fi",
}  # fmt: skip
_FIRST = {
    "en": "Oliver Amelia George Olivia Harry Isla James Emily Jack Ava Noah Mia Liam Grace Ethan "
    "Chloe Mason Sophie Lucas Ella Daniel Hannah",
    "fr": "Louis Emma Gabriel Jade Arthur Louise Jules Alice Hugo Chloe Raphael Lea Adam Manon "
    "Paul Camille",
    "de": "Ben Mia Paul Emma Leon Hannah Finn Sofia Elias Lina Jonas Marie Felix Lea Lukas Anna "
    "Maximilian Clara",
    "es": "Hugo Lucia Martin Sofia Pablo Martina Daniel Maria Alejandro Julia Mateo Paula Leo "
    "Valeria Alvaro Carmen",
    "it": "Leonardo Sofia Francesco Giulia Alessandro Aurora Lorenzo Alice Mattia Ginevra "
    "Tommaso Emma Gabriele Giorgia Riccardo Beatrice",
    "nl": "Noah Emma Sem Julia Lucas Mila Daan Tess Levi Sophie Finn Zoe Bram Sara Luuk Nora",
    "pt": "Joao Maria Rodrigo Leonor Francisco Matilde Martim Beatriz Santiago Carolina "
    "Tomas Ana Duarte Mariana",
    "fi": "Eino Aino Vaino Helmi Leo Olivia Onni Aada Elias Ellen Oliver Sofia",
}
_LAST = {
    "en": "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson "
    "Evans Walker White Roberts Green Hall Wood Jackson Clarke Miller Garcia Murphy Kelly",
    "fr": "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon "
    "Michel Lefebvre Leroy Roux David",
    "de": "Mueller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch "
    "Richter Klein Wolf Neumann Braun",
    "es": "Garcia Rodriguez Gonzalez Fernandez Lopez Martinez Sanchez Perez Gomez Martin "
    "Jimenez Ruiz Hernandez Diaz Moreno Alvarez",
    "it": "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno "
    "Gallo Conti DeLuca Costa Giordano",
    "nl": "DeJong Jansen DeVries VanDijk Bakker Janssen Visser Smit Meijer DeBoer Mulder "
    "DeGroot Bos Vos Peters Hendriks",
    "pt": "Silva Santos Ferreira Pereira Oliveira Costa Rodrigues Martins Jesus Sousa "
    "Fernandes Goncalves Gomes Lopes",
    "fi": "Korhonen Virtanen Makinen Nieminen Makela Hamalainen Laine Heikkinen Koskinen "
    "Jarvinen Lehtonen Lehtinen",
}
_STREET = {
    "en": ("High Street", "Station Road", "Church Lane", "Park Avenue", "Main Street", "Mill Road"),
    "fr": ("Rue de la Paix", "Rue Victor Hugo", "Avenue Jean Jaures", "Rue de la Republique"),
    "de": ("Hauptstrasse", "Bahnhofstrasse", "Schulstrasse", "Gartenweg", "Lindenallee"),
    "es": ("Calle Mayor", "Calle Real", "Avenida de la Constitucion", "Calle del Sol"),
    "it": ("Via Roma", "Via Garibaldi", "Corso Italia", "Via Dante", "Via Mazzini"),
    "nl": ("Kerkstraat", "Dorpsstraat", "Molenweg", "Schoolstraat", "Stationsweg"),
    "pt": ("Rua Augusta", "Avenida da Liberdade", "Rua do Carmo", "Rua Direita"),
    "fi": ("Mannerheimintie", "Aleksanterinkatu", "Hameentie", "Runeberginkatu"),
}
_CALLING = {
    "GB": "44", "IE": "353", "US": "1", "FR": "33", "BE": "32", "DE": "49", "AT": "43",
    "ES": "34", "IT": "39", "NL": "31", "PT": "351", "FI": "358",
}  # fmt: skip
# BBAN shapes: "a" an upper-case letter, "n" a digit (enough to look and check right).
_BBAN = {
    "GB": "aaaa" + "n" * 14, "IE": "aaaa" + "n" * 14, "DE": "n" * 18, "FR": "n" * 23,
    "ES": "n" * 20, "IT": "a" + "n" * 22, "NL": "aaaa" + "n" * 10, "BE": "n" * 12,
    "PT": "n" * 21, "AT": "n" * 16, "FI": "n" * 14, "LT": "n" * 16, "RO": "aaaa" + "n" * 16,
}  # fmt: skip
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

USER_AGENTS: dict[str, tuple[str, ...]] = {
    "phone": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/121.0.0.0 Mobile Safari/537.36",
    ),
    "laptop": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.3 Safari/605.1.15",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
    ),
    "tablet": (
        "Mozilla/5.0 (iPad; CPU OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.3 Mobile/15E148 Safari/604.1",
    ),
    "fraud": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/122.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 11; sdk_gphone_x86) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/109.0.0.0 Safari/537.36",
    ),
}


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # doubled: the check digit will sit to the right of this one
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def card_number(rng: Random, bin6: str) -> str:
    """A 16-digit, Luhn-valid card number in ``bin6``'s range."""
    body = bin6 + "".join(str(rng.randrange(10)) for _ in range(9))
    return body + _luhn_digit(body)


def _no_card_number(make: Any, rng: Random, *args: Any) -> str:
    while True:
        value: str = make(rng, *args)
        if not card_numbers(value):
            return value


def _shape(rng: Random, shape: str) -> str:
    return "".join(rng.choice(_LETTERS) if s == "a" else str(rng.randrange(10)) for s in shape)


def _iban_check(country: str, bban: str) -> str:
    moved = bban + country + "00"
    numeric = "".join(str(int(ch, 36)) for ch in moved)
    return f"{98 - int(numeric) % 97:02d}"


def iban_valid(value: str) -> bool:
    moved = value[4:] + value[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _iban(rng: Random, country: str) -> str:
    bban = _shape(rng, _BBAN[country])
    return country + _iban_check(country, bban) + bban


def iban(rng: Random, country: str) -> str:
    """An IBAN of ``country`` with valid check digits (countries in ``_BBAN``)."""
    return _no_card_number(_iban, rng, country)


def has_iban(country: str) -> bool:
    return country in _BBAN and country != "GB"  # UK payments use sort code and account


def aba_valid(value: str) -> bool:
    d = [int(c) for c in value]
    return (
        len(d) == 9
        and (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + sum(d[2::3])) % 10 == 0
    )


def aba_routing(rng: Random) -> str:
    """A US ABA routing number with a valid check digit."""
    d = [int(c) for c in f"{rng.randint(1, 12):02d}"] + [rng.randrange(10) for _ in range(6)]
    partial = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5]
    return "".join(map(str, d)) + str((10 - partial % 10) % 10)


def sort_code(rng: Random) -> str:
    return f"{rng.randint(10, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"


def account_number(rng: Random, country: str) -> str:
    digits = 8 if country == "GB" else rng.randint(10, 12)
    return "".join(str(rng.randrange(10)) for _ in range(digits))


def hex_id(rng: Random, prefix: str, digits: int = 12) -> str:
    return f"{prefix}_{rng.getrandbits(4 * digits):0{digits}x}"


def person_name(rng: Random, country: str) -> tuple[str, str]:
    lang = _LANG.get(country, "en")
    return rng.choice(_FIRST[lang].split()), rng.choice(_LAST[lang].split())


def email(rng: Random, first: str, last: str) -> str:
    domain = rng.choice(("example.com", "example.com", "example.org", "example.net"))
    style = rng.random()
    if style < 0.5:
        local = f"{first}.{last}"
    elif style < 0.8:
        local = f"{first[0]}{last}{rng.randint(1, 99)}"
    else:
        local = f"{first}{rng.randint(1960, 2005)}"
    return f"{local.lower()}@{domain}"


def phone(rng: Random, country: str) -> str:
    """A number from a fictional range where there is one (Ofcom's 07700 900xxx, the US
    555-01xx), else an ordinary-looking one; never more than 12 digits."""
    if country == "GB":
        return f"+44 7700 900{rng.randrange(1000):03d}"
    if country == "US":
        return (
            f"+1 {rng.choice(('202', '312', '415', '212', '305'))} 555 01{rng.randrange(100):02d}"
        )
    code = _CALLING.get(country, "49")
    return f"+{code} {rng.randint(10, 99)} {rng.randrange(10**6, 10**7)}"


def address(rng: Random, country: str, city: str) -> dict[str, Any]:
    lang = _LANG.get(country, "en")
    if country == "GB":
        postal = f"{rng.choice(_LETTERS)}{rng.choice(_LETTERS)}{rng.randint(1, 20)} "
        postal += f"{rng.randint(1, 9)}{rng.choice(_LETTERS)}{rng.choice(_LETTERS)}"
    elif country in ("NL",):
        postal = f"{rng.randint(1000, 9999)} {rng.choice(_LETTERS)}{rng.choice(_LETTERS)}"
    elif country in ("BE", "AT", "PT"):
        postal = f"{rng.randint(1000, 9999)}"
    else:
        postal = f"{rng.randint(10000, 99999)}"
    return {
        "line1": f"{rng.randint(1, 180)} {rng.choice(_STREET[lang])}",
        "city": city,
        "postal_code": postal,
        "country": country,
    }


def document(rng: Random, country: str, today: date) -> dict[str, Any]:
    kind = rng.choice(("passport", "passport", "national_id", "driving_licence"))
    if country in ("GB", "US", "IE") and kind == "national_id":
        kind = "driving_licence"
    number = f"{rng.choice(_LETTERS)}{rng.choice(_LETTERS)}{rng.randrange(10**7):07d}"
    expires = today + timedelta(days=rng.randint(200, 3600))
    return {
        "type": kind,
        "number": number,
        "issuing_country": country,
        "expires_on": expires.isoformat(),
    }


def home_ip(rng: Random, block: int) -> str:
    """A broadband address in the country's private block (10.<block>.x.y)."""
    return f"10.{block}.{rng.randrange(256)}.{rng.randint(1, 254)}"


def mobile_ip(rng: Random, block: int) -> str:
    """A carrier-grade NAT address (100.64.0.0/10) of the country's mobile networks."""
    return f"100.{64 + block}.{rng.randrange(256)}.{rng.randint(1, 254)}"


# Documentation ranges (RFC 5737): the proxies and hosts that fraud comes from.
FRAUD_NETS: tuple[str, ...] = ("192.0.2", "198.51.100", "203.0.113")


def fraud_ip(rng: Random) -> str:
    return f"{rng.choice(FRAUD_NETS)}.{rng.randint(1, 254)}"

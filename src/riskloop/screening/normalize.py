"""Name normalisation: one folded form for every script and spelling the lists use.

``fold`` transliterates non-Latin scripts with anyascii (Cyrillic, Arabic, Greek; Chinese,
Korean and Japanese syllable by syllable), case-folds, drops accents and punctuation.
``normalize_name`` then reads a person's "SURNAME, Given" in given-name order, takes
honorifics off persons and legal forms off organisations (remembering both for the
explanation), and ``phonetic_key`` gives the sound-alike key used for blocking and for
spelling variants that edit distance alone would reject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import jellyfish
from anyascii import anyascii
from rapidfuzz.distance import OSA

from riskloop.screening.model import EntityKind
from riskloop.screening.vocabulary import (
    GENERATIONS,
    HONORIFICS,
    LEGAL_FORMS_LEADING,
    LEGAL_FORMS_TRAILING,
)

_QUOTES = str.maketrans(
    "", "", "'\"`\u00b4\u2019\u2018\u201c\u201d\u02bb\u02bc"
)  # O'Brien -> obrien, Qa'ida -> qaida
_ABBREVIATION_DOT = re.compile(r"\.(?=[0-9a-z])")  # s.a. -> sa, j.r.r. -> jrr
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_NOT_ID = re.compile(r"[^0-9A-Z]+")


def _syllabic(ch: str) -> bool:
    """CJK ideographs, Hangul syllables and kana: one character is one syllable, so its
    transliteration gets spaces around it (习近平 -> "xi jin ping", not "xijinping")."""
    o = ord(ch)
    return 0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF


def _ascii(text: str) -> str:
    if text.isascii():
        return text
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
        elif _syllabic(ch):
            out.append(f" {anyascii(ch)} ")
        else:
            out.append(anyascii(ch))
    return "".join(out)


def fold(text: str) -> str:
    """ASCII, lower case, words separated by one space.

    >>> fold("Владимир ПУТИН"), fold("José  Núñez-O'Brien"), fold("S.A. de C.V."), fold("习近平")
    ('vladimir putin', 'jose nunez obrien', 'sa de cv', 'xi jin ping')
    """
    s = _ascii(text).casefold().replace("&", " and ").translate(_QUOTES)
    s = _ABBREVIATION_DOT.sub("", s)
    return " ".join(_NOT_ALNUM.split(s)).strip()


@dataclass(frozen=True, slots=True)
class NormalizedName:
    """Matching tokens (given names first for persons) and what was taken off them.

    ``order[i]`` is the position of ``tokens[i]`` in the published text, so the matcher
    can tell a reordered name from one written in the same order.
    """

    tokens: tuple[str, ...]
    order: tuple[int, ...]
    titles: tuple[str, ...] = ()
    legal_forms: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def _same_word(token: str, form: str) -> bool:
    """Equal, or one typo away for the long words ("limitd", "compnay", "anonim")."""
    if token == form:
        return True
    return len(form) >= 6 and abs(len(token) - len(form)) <= 1 and OSA.distance(token, form) <= 1


Forms = dict[str, list[tuple[str, ...]]]


def _by_edge(forms: tuple[tuple[str, ...], ...], at_end: bool) -> Forms:
    """Forms by the word they end (or start) with, longest first."""
    out: Forms = {}
    for form in forms:
        out.setdefault(form[-1] if at_end else form[0], []).append(form)
    return out


_TRAILING, _LEADING = _by_edge(LEGAL_FORMS_TRAILING, True), _by_edge(LEGAL_FORMS_LEADING, False)


def _strip_forms(tokens: list[str], forms: Forms, *, at_end: bool) -> list[str]:
    """Take legal forms off one end of ``tokens`` (in place) while one is there and a word
    would be left; the forms taken, outermost first."""
    found: list[str] = []
    while tokens:
        edge = tokens[-1] if at_end else tokens[0]
        candidates = forms.get(edge, [])
        if not candidates and len(edge) >= 5:
            candidates = [f for w, fs in forms.items() if _same_word(edge, w) for f in fs]
        for form in candidates:
            n = len(form)
            part = tokens[-n:] if at_end else tokens[:n]
            if len(tokens) > n and all(_same_word(t, f) for t, f in zip(part, form, strict=True)):
                found.append(" ".join(form))
                del tokens[(len(tokens) - n if at_end else 0) : (len(tokens) if at_end else n)]
                break
        else:
            return found
    return found


@lru_cache(maxsize=65536)
def normalize_name(name: str, kind: EntityKind | None = None) -> NormalizedName:
    """The tokens a name is matched on; ``kind`` None keeps both persons' and
    organisations' words (honorifics and legal forms are taken off only when the kind says
    which they are).

    >>> normalize_name("PUTIN, Vladimir Vladimirovich", EntityKind.PERSON).tokens
    ('vladimir', 'vladimirovich', 'putin')
    >>> n = normalize_name("Sheikh Dr. Umar Abd al-Rahman", EntityKind.PERSON)
    >>> n.tokens, n.titles
    (('umar', 'abd', 'al', 'rahman'), ('sheikh', 'dr'))
    >>> n = normalize_name("ANGLO-CARIBBEAN CO., LTD.", EntityKind.ORGANIZATION)
    >>> n.tokens, n.legal_forms
    (('anglo', 'caribbean'), ('ltd', 'co'))
    """
    person = kind is EntityKind.PERSON
    parts = name.split(",")
    if person and len(parts) == 2 and fold(parts[0]) and fold(parts[1]):
        surname, given = fold(parts[0]).split(), fold(parts[1]).split()
        tokens = given + surname
        order = [len(surname) + i for i in range(len(given))] + list(range(len(surname)))
    else:
        tokens = fold(name).split()
        order = list(range(len(tokens)))
    titles: list[str] = []
    legal: list[str] = []
    if person:
        while len(tokens) > 1 and tokens[0] in HONORIFICS:
            titles.append(tokens.pop(0))
            order.pop(0)
        keep = [k for k, t in enumerate(tokens) if t not in GENERATIONS]
        if keep and len(keep) < len(tokens):
            titles += [t for t in tokens if t in GENERATIONS]
            tokens, order = [tokens[k] for k in keep], [order[k] for k in keep]
    elif kind is not None and tokens:
        legal = _strip_forms(tokens, _TRAILING, at_end=True)
        order = order[: len(tokens)]
        start = len(tokens)
        legal += _strip_forms(tokens, _LEADING, at_end=False)
        order = order[start - len(tokens) :]
    return NormalizedName(tuple(tokens), tuple(order), tuple(titles), tuple(legal))


# Digraphs and letters transliterations disagree on (Dzhokhar / Jokhar, Qadhafi / Kadhafi).
_SOUNDS = (
    ("dzh", "j"),
    ("dj", "j"),
    ("zh", "j"),
    ("kh", "h"),
    ("ck", "k"),
    ("q", "k"),
    ("w", "v"),
    ("ph", "f"),
    ("ou", "u"),
    ("oo", "u"),
    ("ee", "i"),
    ("y", "i"),
)


@lru_cache(maxsize=131072)
def sound_fold(token: str) -> str:
    """The token with those digraphs folded and doubled letters single.

    >>> sound_fold("dzhokhar"), sound_fold("mohammed"), sound_fold("yousef")
    ('johar', 'mohamed', 'iusef')
    """
    for a, b in _SOUNDS:
        token = token.replace(a, b)
    return "".join(c for i, c in enumerate(token) if i == 0 or c != token[i - 1])


@lru_cache(maxsize=131072)
def phonetic_key(token: str) -> str:
    """Metaphone of the sound-folded token, any leading vowel written "A" (Osama ~ Usama).

    >>> [phonetic_key(t) for t in ("mohammed", "muhammad", "osama", "usama", "dzhon", "john")]
    ['MHMT', 'MHMT', 'ASM', 'ASM', 'JN', 'JN']
    """
    if len(token) < 2 or not token.isalpha():
        return ""
    key = str(jellyfish.metaphone(sound_fold(token)))
    if key and key[0] in "AEIOU":
        key = "A" + key[1:]
    return key


def normalize_identifier(value: str) -> str:
    """Upper-case letters and digits only: "AB 123-456/7" -> "AB1234567"."""
    return _NOT_ID.sub("", anyascii(value).upper())

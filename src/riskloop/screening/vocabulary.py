"""Word lists the normaliser and the matcher rely on: honorifics, legal forms, name
particles and nicknames. All entries are folded (ASCII, lower case, no punctuation)."""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Titles in front of a person's name: removed for matching, kept for the explanation.
# Words that are also given names (don, imam, sayyid) are not here.
HONORIFICS = _words(
    """
    mr mrs ms miss mx dr doctor prof professor sir dame lord lady madam mme mlle monsieur
    herr frau sra srta senor senora
    sheikh sheik shaikh shaykh cheikh haji hajji hadji hajj alhaj alhaji mullah mulla maulana
    maulvi maulavi mawlawi mawlavi mufti ayatollah hojatoleslam ustad ustadz qari
    general gen colonel col lieutenant lt major maj captain capt commander cmdr brigadier
    admiral sergeant sgt corporal marshal commandant
    president minister ambassador governor senator judge justice
    rev reverend father fr bishop archbishop pastor
    his excellency hon honorable honourable
    """
)
# Generational suffixes after a person's name.
GENERATIONS = _words("jr jnr junior sr snr senior ii iii iv")

# Legal forms, as token sequences after folding ("S.A. DE C.V." -> "sa de cv"). Removed at
# the end (and the Russian/Indonesian ones at the start) of organisation names.
_TRAILING_WORDS = """
    ltd ltda limited llc llp lllp lp plc inc incorporated corp corporation co company cia
    gmbh mbh ag kg ohg ug ev sa sas sarl sae sal sac saa sapi srl spa sl slu bv nv oy oyj
    ab as asa aps jsc ojsc cjsc pjsc ooo oao zao pao tov fze fzco fzc fzllc dmcc wll spc
    pte pvt pty bhd sdn kk tbk sro doo dd ad ead eood spzoo zrt kft est establishment
"""
_TRAILING_PHRASES = (
    "sa de cv",
    "de cv",
    "sapi de cv",
    "s de rl de cv",
    "s de rl",
    "s a de c v",
    "c v",
    "s a",
    "s a s",
    "s a c",
    "s l",
    "s r l",
    "s p a",
    "b v",
    "n v",
    "l l c",
    "a s",
    "fz llc",
    "sdn bhd",
    "sp z oo",
    "pvt ltd",
    "limited liability company",
    "limited liability partnership",
    "joint stock company",
    "open joint stock company",
    "closed joint stock company",
    "public joint stock company",
    "private limited company",
    "public limited company",
    "private limited",
    "sociedad anonima",
    "societe anonyme",
    "sociedade anonima",
)
_LEADING_WORDS = "ooo oao zao pao ao jsc ojsc cjsc pjsc tov pt"
_LEADING_PHRASES = (
    "limited liability company",
    "joint stock company",
    "open joint stock company",
    "closed joint stock company",
    "public joint stock company",
    "obshchestvo s ogranichennoy otvetstvennostyu",
)


def _sequences(words: str, phrases: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    out = {(w,) for w in words.split()} | {tuple(p.split()) for p in phrases}
    # longest first, so "sa de cv" is taken before "sa"
    return tuple(sorted(out, key=lambda s: (-len(s), s)))


LEGAL_FORMS_TRAILING = _sequences(_TRAILING_WORDS, _TRAILING_PHRASES)
LEGAL_FORMS_LEADING = _sequences(_LEADING_WORDS, _LEADING_PHRASES)
# Every word of a legal form: in a query where it was not taken off (a typo after it, a
# form in the middle), it weighs no more than a particle.
LEGAL_WORDS = frozenset(w for form in LEGAL_FORMS_TRAILING + LEGAL_FORMS_LEADING for w in form)

# Connecting words that identify nobody on their own: weighed very little.
PARTICLES = _words(
    """
    al el ul ur ad ar as an at az bin ben ibn bint binti bte abu um umm
    de del della di da das dos du la le les van von der den ter ten and of the
    """
)

# Short forms -> the formal given name (a few per name; transliteration variants such as
# mohammed / muhammad are left to the fuzzy and phonetic comparison).
_NICKNAMES = {
    "alexander": "alex sasha sandy sacha",
    "aleksandr": "sasha sanya shura",
    "alexandra": "alex sasha sandra",
    "andrew": "andy drew",
    "anthony": "tony",
    "benjamin": "ben benny",
    "catherine": "cathy kate katie",
    "charles": "charlie chuck chas",
    "christopher": "chris kit",
    "daniel": "dan danny",
    "david": "dave davy",
    "dmitry": "dima mitya",
    "donald": "don donny",
    "douglas": "doug",
    "edward": "ed eddie ted ned",
    "elizabeth": "liz lizzie beth betty eliza",
    "francis": "frank",
    "francisco": "paco pancho",
    "gregory": "greg",
    "henry": "harry hank",
    "ivan": "vanya",
    "james": "jim jimmy jamie",
    "jeffrey": "jeff",
    "john": "jack johnny",
    "jonathan": "jon",
    "joseph": "joe joey",
    "jose": "pepe",
    "katherine": "kathy kate katie",
    "kenneth": "ken kenny",
    "lawrence": "larry",
    "margaret": "maggie peggy meg",
    "matthew": "matt",
    "michael": "mike mikey mick",
    "mikhail": "misha",
    "nicholas": "nick nicky",
    "nikolai": "kolya",
    "patrick": "pat paddy",
    "peter": "pete",
    "richard": "rick ricky dick rich",
    "robert": "bob bobby rob robbie bert",
    "ronald": "ron ronnie",
    "samuel": "sam sammy",
    "sergei": "seryozha",
    "stephen": "steve",
    "steven": "steve",
    "susan": "sue suzy",
    "thomas": "tom tommy",
    "timothy": "tim timmy",
    "vladimir": "vova volodya",
    "william": "bill billy will willy liam",
    "yevgeny": "zhenya",
}

# name -> the names it is a short or formal form of (both ways: bill <-> william)
NICKNAMES: dict[str, frozenset[str]] = {}
for _formal, _short in _NICKNAMES.items():
    for _nick in _short.split():
        NICKNAMES[_nick] = NICKNAMES.get(_nick, frozenset()) | {_formal}
        NICKNAMES[_formal] = NICKNAMES.get(_formal, frozenset()) | {_nick}

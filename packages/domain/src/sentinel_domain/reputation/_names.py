"""Name features for reputation: the registrable label and how machine-generated it looks.

Public-suffix heuristic (no PSL download: the domain package has no I/O):
- a name's public suffix is its last label, or its last two labels when they form a known
  multi-label suffix: either listed in MULTI_LABEL_SUFFIXES, or a two-letter country TLD whose
  second-level label is one of the generic ones in GENERIC_SECOND_LEVEL (``co.uk``, ``com.au``,
  ``ne.jp``, ``gob.mx`` …);
- the registrable label is the label just left of the public suffix (``example`` in
  ``www.example.co.uk``); single-label names and bare suffixes have none.
Only ICANN-style suffixes are known. Hosting suffixes from the PSL's private section
(``cloudfront.net``, ``github.io`` …) are deliberately absent: the random-looking host names under
them are not what we score, the provider's label is.

DGA-likeness (contract §7.9 names entropy > 3.5 bits as the DGA signal; we add three), computed
on the registrable label:
- ``entropy``: Shannon entropy above DGA_ENTROPY_BITS (3.5 bits per character);
- ``consonants``: a run of at least DGA_CONSONANT_RUN (5) consonants (``y`` counts as a vowel);
- ``digits``: at least DGA_DIGIT_RATIO (30 %) digits mixed with letters;
- ``bigrams``: at least DGA_RARE_BIGRAM_RATIO (30 %) of adjacent pairs are unpronounceable: two
  consonants that are not a common English cluster (COMMON_CONSONANT_PAIRS), or a letter/digit
  switch.
A label of at least DGA_MIN_LENGTH (8) characters is DGA-like when two signals hold, or when the
bigram ratio alone reaches DGA_RARE_BIGRAM_ALONE (45 %). Entropy alone is not enough: long
labels made of English words (``stackoverflow``, ``symantecliveupdate``) exceed 3.5 bits.
Punycode labels (``xn--``) are never DGA-like (their encoding looks random by construction).
Measured on uniformly random lower-case labels: about half of the 8-letter and 90 % of the
20-letter ones are flagged; none of ~300 popular service labels is (see the tests).
"""

import math
from collections import Counter
from dataclasses import dataclass

MULTI_LABEL_SUFFIXES = frozenset(
    {
        "co.uk", "org.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "sch.uk", "ac.uk", "gov.uk", "nhs.uk",
        "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "co.kr", "or.kr", "co.nz", "net.nz", "org.nz",
        "co.za", "org.za", "co.in", "net.in", "org.in", "firm.in", "gen.in", "ind.in", "co.il", "org.il",
        "com.au", "net.au", "org.au", "edu.au", "gov.au", "asn.au", "id.au", "com.br", "net.br", "org.br",
        "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn", "com.mx", "com.ar", "com.tr", "com.tw", "com.hk",
        "com.sg", "com.my", "com.ph", "com.vn", "com.pk", "com.ng", "com.eg", "com.sa", "com.ua", "com.pl",
        "com.co", "com.pe", "com.ve", "co.id", "or.id", "ac.id", "co.th", "in.th", "ac.th", "gv.at",
        "co.at", "or.at", "ac.at", "com.ru", "org.ru", "net.ru", "msk.ru", "spb.ru", "com.es", "nom.es",
        "org.es", "gouv.fr", "asso.fr", "com.fr", "qc.ca", "on.ca", "bc.ca", "ab.ca", "com.de",
    }
)  # fmt: skip
GENERIC_SECOND_LEVEL = frozenset(
    {"co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "gob", "mil", "nic", "biz", "info"}
)

DGA_ENTROPY_BITS = 3.5
DGA_CONSONANT_RUN = 5
DGA_DIGIT_RATIO = 0.3
DGA_RARE_BIGRAM_RATIO = 0.3
DGA_RARE_BIGRAM_ALONE = 0.45
DGA_MIN_LENGTH = 8
_VOWELS = frozenset("aeiouy")
# Consonant pairs frequent in English (and so in brand names); any other pair is "rare".
COMMON_CONSONANT_PAIRS = frozenset(
    {
        "th", "st", "nd", "nt", "ng", "ch", "sh", "ck", "ll", "ss", "tr", "pr", "br", "cr", "dr", "fr",
        "gr", "pl", "bl", "cl", "fl", "gl", "sl", "sp", "sc", "sk", "sm", "sn", "sw", "tw", "wh", "ph",
        "rt", "rd", "rk", "rm", "rn", "rs", "rl", "lt", "ld", "lk", "lm", "ls", "nc", "ns", "nk", "mp",
        "mb", "ct", "pt", "ft", "xt", "gh", "wn", "ws", "rc", "rg", "rv", "lv", "nf", "tt", "pp", "mm",
        "nn", "ff", "rr", "dd", "gg", "ts", "ds", "ks", "ps", "ms", "lp", "lf", "rp", "rb", "rf", "rh",
        "wr", "kn", "gn",
    }
)  # fmt: skip


def public_suffix(name: str) -> str:
    """The public suffix of a lower-case name without trailing dot (see the module docstring)."""
    labels = name.split(".")
    if len(labels) >= 2:
        last_two = ".".join(labels[-2:])
        if last_two in MULTI_LABEL_SUFFIXES or (len(labels[-1]) == 2 and labels[-2] in GENERIC_SECOND_LEVEL):
            return last_two
    return labels[-1]


def registrable_domain(name: str) -> str | None:
    """The registrable domain (``example.co.uk`` for ``www.example.co.uk``), or None if there is none."""
    suffix = public_suffix(name)
    if name == suffix or not name.endswith("." + suffix):
        return None
    head = name[: -len(suffix) - 1]
    return f"{head.rsplit('.', 1)[-1]}.{suffix}"


def registrable_label(name: str) -> str | None:
    """The label just left of the public suffix (``example``), or None."""
    domain = registrable_domain(name)
    return domain.split(".", 1)[0] if domain is not None else None


def shannon_entropy(text: str) -> float:
    """Shannon entropy of the character distribution of ``text``, in bits per character."""
    if not text:
        return 0.0
    size = len(text)
    return -sum((n / size) * math.log2(n / size) for n in Counter(text).values())


_CONSONANTS = "bcdfghjklmnpqrstvwxz"
_DIGIT_CHARS = "0123456789"
# Every pair counted as rare, precomputed so the ratio is one set lookup per pair.
_RARE_PAIRS = frozenset(
    {a + b for a in _CONSONANTS for b in _CONSONANTS} - COMMON_CONSONANT_PAIRS
    | {a + b for a in _CONSONANTS + "aeiouy" for b in _DIGIT_CHARS}
    | {b + a for a in _CONSONANTS + "aeiouy" for b in _DIGIT_CHARS}
)
# Maps every non-consonant to a space, so consonant runs are what str.split() returns.
_ONLY_CONSONANTS = str.maketrans({chr(c): " " for c in range(128) if chr(c) not in _CONSONANTS})


def longest_consonant_run(label: str) -> int:
    """The longest run of ASCII consonants (``y`` counts as a vowel) in a lower-case label."""
    return max(map(len, label.translate(_ONLY_CONSONANTS).split()), default=0)


def digit_ratio(label: str) -> float:
    return sum(ch.isdigit() for ch in label) / len(label) if label else 0.0


def rare_bigram_ratio(label: str) -> float:
    """Share of adjacent pairs that are a rare consonant pair or a letter/digit switch."""
    if len(label) < 2:
        return 0.0
    rare = sum(map(_RARE_PAIRS.__contains__, map(str.__add__, label, label[1:])))
    return rare / (len(label) - 1)


@dataclass(frozen=True, slots=True)
class DgaFeatures:
    label: str
    entropy: float
    consonant_run: int
    digit_ratio: float
    rare_bigram_ratio: float
    dga_like: bool


def dga_features(name: str) -> DgaFeatures | None:
    """DGA features of ``name``'s registrable label, or None when it has none."""
    label = registrable_label(name)
    if label is None:
        return None
    entropy = shannon_entropy(label)
    run = longest_consonant_run(label)
    digits = digit_ratio(label)
    bigrams = rare_bigram_ratio(label)
    signals = (
        entropy > DGA_ENTROPY_BITS,
        run >= DGA_CONSONANT_RUN,
        digits >= DGA_DIGIT_RATIO and any(ch.isalpha() for ch in label),
        bigrams >= DGA_RARE_BIGRAM_RATIO,
    )
    eligible = len(label) >= DGA_MIN_LENGTH and not label.startswith("xn--")
    dga_like = eligible and (sum(signals) >= 2 or bigrams >= DGA_RARE_BIGRAM_ALONE)
    return DgaFeatures(label, entropy, run, digits, bigrams, dga_like)


def is_dga_like(name: str) -> bool:
    """Whether ``name``'s registrable label is DGA-like; cheap for the common short labels."""
    label = registrable_label(name)
    if label is None or len(label) < DGA_MIN_LENGTH or label.startswith("xn--"):
        return False
    features = dga_features(name)
    return features is not None and features.dga_like

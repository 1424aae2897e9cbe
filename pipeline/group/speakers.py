"""Who said it: when two credits can be the same speaker, and when they cannot.

Articles credit one speaker in many forms: "Vladimir Putin", "Putin", "the Russian
president", "Mr Putin", or nobody. Two credits are *compatible* when

* either side is unnamed (no source, a role noun such as "the Russian president", a
  vague group such as "officials"): it may be anyone;
* their entity keys or canonical names are equal;
* one name is a sub-name of the other ("Putin" in "Vladimir Putin").

Credits linked by a citing chain ("Al-Watan, citing Vendamasti, reported ...": both are
credited with the same words) are compatible too. Otherwise they are incompatible, and a
quote credited to both is *contested*::

    >>> putin = Speaker(canonical="Vladimir Putin", type="person")
    >>> compatible(putin, Speaker(canonical="Putin", type="person"))
    True
    >>> compatible(putin, Speaker(text="the Russian president", type="unnamed"))
    True
    >>> compatible(putin, Speaker(canonical="Dmitry Peskov", type="person"))
    False
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.core.contracts import QuoteSpeaker
from pipeline.group.text import words

NAMED_TYPES = frozenset({"person", "organization", "outlet", "document"})
# Words that are not part of a name when comparing names ("Mr Putin" ~ "Putin").
HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "dame", "lord",
                        "lady", "the", "president", "minister", "prime", "senator", "king",
                        "queen", "pope", "general", "gen", "judge", "chancellor"})


@dataclass(frozen=True)
class Speaker:
    """A credit as the grouping sees it (the speaker fields of a Quote)."""

    text: str | None = None
    canonical: str | None = None
    key: str | None = None
    type: str = "unnamed"
    anonymous: bool = False

    @classmethod
    def of(cls, speaker: QuoteSpeaker) -> Speaker:
        return cls(text=speaker.text, canonical=speaker.canonical, key=speaker.key,
                   type=speaker.type, anonymous=speaker.anonymous)

    @classmethod
    def from_list(cls, data: list[Any]) -> Speaker:
        return cls(*data)

    def as_list(self) -> list[Any]:
        return [self.text, self.canonical, self.key, self.type, self.anonymous]

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "canonical": self.canonical, "key": self.key,
                "type": self.type}

    @property
    def named(self) -> bool:
        """A named person, organisation, outlet or document (not a role noun or a crowd)."""
        return self.type in NAMED_TYPES and not self.anonymous and bool(self.canonical) \
            and bool(self.name)

    @property
    def name(self) -> frozenset[str]:
        """The words of the canonical name, honorifics left out."""
        return frozenset(w for w in words(self.canonical or "") if w not in HONORIFICS)


def same_name(a: Speaker, b: Speaker) -> bool:
    """Equal keys or names, or one name inside the other ("Putin" in "Vladimir Putin")."""
    if a.key and a.key == b.key:
        return True
    na, nb = a.name, b.name
    return bool(na and nb) and (na <= nb or nb <= na)


def compatible(a: Speaker, b: Speaker) -> bool:
    """Can ``a`` and ``b`` be the same speaker? Unnamed credits fit anyone."""
    if not (a.named and b.named):
        return True
    return same_name(a, b)


Chains = frozenset[frozenset[str]]
NO_CHAINS: Chains = frozenset()


def chain(speaker: Speaker, cited_via: list[str]) -> Chains:
    """The (speaker, cited) pairs of one credit's citing chain."""
    if not speaker.canonical:
        return NO_CHAINS
    return frozenset(frozenset((speaker.canonical, c)) for c in cited_via if c)


def linked(a: Speaker, b: Speaker, chains: Chains = NO_CHAINS) -> bool:
    """The same name, or one cites the other."""
    return same_name(a, b) or frozenset((a.canonical, b.canonical)) in chains


def fits(speaker: Speaker, credited: list[Speaker], chains: Chains = NO_CHAINS) -> bool:
    """Does ``speaker`` fit a group credited to ``credited`` (compatible with one of its
    named speakers, or the group has none)?"""
    named = [c for c in credited if c.named]
    return not named or not speaker.named or any(linked(speaker, c, chains) for c in named)


def contested(credited: list[Speaker], chains: Chains = NO_CHAINS) -> bool:
    """Are two incompatible named speakers credited?

    >>> contested([Speaker(canonical="Putin", type="person"),
    ...            Speaker(canonical="Vladimir Putin", type="person")])
    False
    >>> kremlin, tass = (Speaker(canonical="Kremlin", type="organization"),
    ...                  Speaker(canonical="TASS", type="outlet"))
    >>> contested([kremlin, tass]), contested([kremlin, tass], chain(tass, ["Kremlin"]))
    (True, False)
    """
    named = [c for c in credited if c.named]
    return any(not linked(a, b, chains) for i, a in enumerate(named) for b in named[i + 1:])

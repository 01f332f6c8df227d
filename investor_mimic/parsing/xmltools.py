"""Namespace-agnostic reading of SEC XML documents with lxml.

Why by local name: the same 13F and Form 4 documents arrive with a default namespace,
a prefix such as ``ns1:`` or no namespace at all. Each parser checks the root
namespace once (an unknown one is an error) and then addresses children by local name
only. Every helper raises :class:`FilingError` naming the element it could not read.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from functools import lru_cache
from typing import TypeAlias

from lxml import etree

from investor_mimic.core.frames import cik10
from investor_mimic.parsing.detect import strip_bom
from investor_mimic.parsing.errors import FilingError

Element: TypeAlias = etree._Element

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)


def read_xml(data: bytes, what: str) -> Element:
    """Parse ``data`` (one XML document) or raise ``FilingError`` naming ``what``.

    A byte-order mark before the prolog is dropped (some filers' tools write one inside
    the ``<XML>`` block, where libxml2 would see it as text before the declaration).
    """
    data = strip_bom(data).strip()
    if not data:
        raise FilingError(f"{what}: empty XML document")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise FilingError(f"{what}: malformed or truncated XML ({exc.msg})") from None
    if root is None:
        raise FilingError(f"{what}: no XML root element")
    return root


def localname(el: Element) -> str:
    return etree.QName(el).localname


def namespace(el: Element) -> str | None:
    return etree.QName(el).namespace


def check_root(root: Element, name: str, namespaces: frozenset[str | None], what: str) -> None:
    """Require root element ``name`` in one of ``namespaces`` (``None`` = no namespace)."""
    if localname(root) != name:
        raise FilingError(f"{what}: root element is <{localname(root)}>, expected <{name}>")
    if namespace(root) not in namespaces:
        raise FilingError(f"{what}: unknown namespace {namespace(root)!r} on <{name}>")


def children(el: Element, name: str) -> list[Element]:
    """Child elements of local name ``name``, in any namespace or none.

    lxml's ``{*}name`` tag filter does the matching in C (comments, processing
    instructions and entity references never match); comparing each child's
    ``QName`` in Python was most of the time of parsing a Form 4.
    """
    return list(el.iterchildren(f"{{*}}{name}"))


def find(el: Element, path: str) -> Element | None:
    """First element along ``path`` ("a/b/c", local names), or ``None``."""
    node = el
    for part in path.split("/"):
        found = next(node.iterchildren(f"{{*}}{part}"), None)
        if found is None:
            return None
        node = found
    return node


def text(el: Element, path: str, where: str, *, required: bool = True) -> str | None:
    """Stripped text at ``path``; ``None`` when absent or empty and not ``required``."""
    node = find(el, path)
    if node is None:
        value = ""
    elif len(node):  # mixed content: children's text and tails too
        value = "".join(node.itertext()).strip()
    else:
        value = (node.text or "").strip()
    if value:
        return value
    if required:
        raise FilingError(f"{where}: missing <{path}>")
    return None


def need(el: Element, path: str, where: str) -> str:
    value = text(el, path, where)
    assert value is not None  # text(required=True) raised otherwise
    return value


_TRUE = {"true", "1", "y", "yes"}
_FALSE = {"false", "0", "n", "no"}


def parse_bool(raw: str | None, where: str) -> bool | None:
    """``true/false``, ``1/0`` and ``Y/N`` (all used by real filers); ``None`` if absent."""
    if raw is None:
        return None
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise FilingError(f"{where}: {raw!r} is not a boolean")


def parse_number(raw: str, where: str) -> float:
    """A finite, non-negative number (thousands separators tolerated)."""
    try:
        value = float(raw.replace(",", ""))
    except ValueError:
        raise FilingError(f"{where}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise FilingError(f"{where}: {raw!r} is not a finite number")
    if value < 0:
        raise FilingError(f"{where}: negative value {raw!r}")
    return value


@lru_cache(maxsize=4096)
def strptime(raw: str, fmt: str) -> datetime:
    """``datetime.strptime``, remembered: the same few thousand dates recur in every
    filing, daily index and header, and parsing one costs more than parsing a row."""
    return datetime.strptime(raw, fmt)


def parse_date(raw: str, where: str, formats: tuple[str, ...]) -> date:
    """A date in one of ``formats``; a trailing time-zone offset (``-05:00``) is ignored."""
    core = raw.strip()[:10]
    for fmt in formats:
        try:
            return strptime(core, fmt).date()
        except ValueError:
            continue
    raise FilingError(f"{where}: {raw!r} is not a date ({' or '.join(formats)})")


def pad_cik(raw: str, where: str) -> str:
    """:func:`investor_mimic.core.frames.cik10`, failing as a FilingError that says where."""
    try:
        return cik10(raw)
    except ValueError:
        raise FilingError(f"{where}: {raw!r} is not a CIK") from None

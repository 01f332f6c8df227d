"""Namespace-agnostic element access and the remembered date parser."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from investor_mimic.parsing.errors import FilingError
from investor_mimic.parsing.xmltools import children, find, parse_date, read_xml, strptime, text

DOC = b"""<?xml version="1.0"?>
<!DOCTYPE root [<!ENTITY co "Acme">]>
<root xmlns:p="urn:prefixed">
  <!-- a comment -->
  <?pi between rows?>
  <row><name>plain</name></row>
  <p:row><p:name>prefixed</p:name></p:row>
  <row xmlns="urn:default"><name>  defaulted  </name></row>
  <rowish><name>not a row</name></rowish>
  <mixed>one <b>two</b> three</mixed>
  <entity>&co; Corp</entity>
  <empty>   </empty>
</root>
"""


def test_children_and_find_match_local_names_in_any_namespace() -> None:
    root = read_xml(DOC, "test")
    rows = children(root, "row")
    assert [text(r, "name", "row") for r in rows] == ["plain", "prefixed", "defaulted"]
    assert children(root, "nothing") == []
    node = find(root, "row/name")
    assert node is not None and node.text == "plain"
    assert find(root, "row/missing/name") is None
    assert find(root, "missing") is None


def test_text_joins_mixed_content_and_treats_blank_as_missing() -> None:
    root = read_xml(DOC, "test")
    assert text(root, "mixed", "test") == "one two three"
    assert text(root, "entity", "test") == "&co; Corp"  # entities are never resolved
    assert text(root, "empty", "test", required=False) is None
    with pytest.raises(FilingError, match="test: missing <empty>"):
        text(root, "empty", "test")
    with pytest.raises(FilingError, match="test: missing <row/nope>"):
        text(root, "row/nope", "test")


def test_remembered_dates_parse_as_strptime_and_fail_every_time() -> None:
    assert strptime("20250502170102", "%Y%m%d%H%M%S") == datetime(2025, 5, 2, 17, 1, 2)
    assert parse_date("2025-05-02-04:00", "here", ("%Y-%m-%d",)) == date(2025, 5, 2)
    assert parse_date("05-02-2025", "here", ("%Y-%m-%d", "%m-%d-%Y")) == date(2025, 5, 2)
    for _ in range(2):  # a failure is not remembered as a result
        with pytest.raises(FilingError, match=r"here: '2025-13-02' is not a date"):
            parse_date("2025-13-02", "here", ("%Y-%m-%d",))

"""Rendering a model template: ``ref``/``source`` become table names, date macros SQL.

The same template renders for SQLite and PostgreSQL; the only dialect-specific SQL the
models need are the integer calendar parts of a date column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import jinja2

from investor_mimic.sql.errors import SqlModelError

if TYPE_CHECKING:
    from investor_mimic.sql.project import SqlProject

DIALECTS = ("sqlite", "postgresql")

# The per-dialect macros: integer calendar parts of a date/timestamp column.
_DATE_PARTS: dict[str, dict[str, str]] = {
    "sqlite": {
        "year": "CAST(strftime('%Y', {expr}) AS INTEGER)",
        "month": "CAST(strftime('%m', {expr}) AS INTEGER)",
    },
    "postgresql": {
        "year": "CAST(EXTRACT(YEAR FROM {expr}) AS INTEGER)",
        "month": "CAST(EXTRACT(MONTH FROM {expr}) AS INTEGER)",
    },
}


@dataclass
class Recorder:
    """Collects the refs and sources a template calls while it renders."""

    refs: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)


def render_template(
    project: SqlProject,
    template: str,
    dialect: str,
    *,
    where: str,
    recorder: Recorder | None = None,
) -> str:
    if dialect not in DIALECTS:
        raise SqlModelError(f"{where}: unsupported dialect {dialect!r} (supported: {DIALECTS})")

    def ref(name: str) -> str:
        if name not in project.models:
            raise SqlModelError(
                f"{where}: ref('{name}') names no model (known: {sorted(project.models)})"
            )
        if recorder is not None:
            recorder.refs.append(name)
        return name

    def source(source_name: str, table: str) -> str:
        try:
            rendered = project.source_table(source_name, table)
        except SqlModelError as exc:
            raise SqlModelError(f"{where}: {exc}") from None
        if recorder is not None:
            recorder.sources.append((source_name, table))
        return rendered

    def date_part(part: str) -> Callable[[str], str]:
        return lambda expr: _DATE_PARTS[dialect][part].format(expr=expr)

    env = jinja2.Environment(  # nosec B701 # renders SQL, not HTML
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    try:
        tmpl = env.from_string(template)
        return tmpl.render(ref=ref, source=source, year=date_part("year"), month=date_part("month"))
    except jinja2.TemplateError as exc:
        raise SqlModelError(f"{where}: template error: {exc}") from None

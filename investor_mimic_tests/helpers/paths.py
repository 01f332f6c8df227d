"""Where the repository, the SQL project and the shared real filings are."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SQL_PROJECT_DIR = REPO / "dbt_like_sql"
SHARED = Path(os.environ.get("IM_SHARED_DIR", REPO.parent / "shared"))

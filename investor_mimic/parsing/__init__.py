"""SEC documents to typed frames: pure functions, no network.

* :mod:`.submission` — EDGAR full submissions (SGML header + ``<XML>`` documents).
* :mod:`.thirteenf` — 13F cover page and information table, value-unit decision.
* :mod:`.form4` — Form 4 ownership documents, 10b5-1 detection.
* :mod:`.extract` — ``holdings_frame`` / ``trades_frame``: contract frames for the sources.
* :mod:`.show` — ``investor-mimic filing show`` rendering.
* :mod:`.errors` — :class:`FilingError`, the one error every bad document raises.
"""

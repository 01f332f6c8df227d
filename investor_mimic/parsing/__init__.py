"""SEC documents to typed frames: pure functions, no network."""

"""Helpers shared by the test modules (no tests here): never import one test_* file from another."""

"""Helpers shared by the test folders (unit, integration, e2e): one place, so that no
test module imports another."""

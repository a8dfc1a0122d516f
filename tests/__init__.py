"""Tests for tgfetch: unit tests, end-to-end tests and the fakes they share."""

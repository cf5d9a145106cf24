"""Test doubles for external services (currently: a fake Telegram Bot API server)."""

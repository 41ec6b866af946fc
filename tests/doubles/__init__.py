"""Test doubles of agent CLIs: terminal programs that draw what Claude Code, Codex and Gemini CLI draw."""

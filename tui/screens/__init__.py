"""The TUI's modal screens: help, sessions, evidence detail."""

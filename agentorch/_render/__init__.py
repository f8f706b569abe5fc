"""Rendering: terminal views of a running team and self-contained HTML pages."""

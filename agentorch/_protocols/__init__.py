"""Protocols a team speaks to the world (A2A, AG-UI); each needs its own extra, imported when used."""

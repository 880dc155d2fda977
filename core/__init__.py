"""Shared infrastructure every plugin uses: database, counties, languages, errors."""

"""Adapters that put cardwatch on the wire: the HTTP API, the analyst console, ISO 8583."""

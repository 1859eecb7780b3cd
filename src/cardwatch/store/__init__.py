"""Storage adapters: operational database, transaction history, profile state."""

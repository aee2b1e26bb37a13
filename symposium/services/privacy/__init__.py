"""The registrant's data rights: download (export), deletion on request, the retention purge."""

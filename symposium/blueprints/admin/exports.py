"""Back-office exports (routes register on the admin blueprint)."""

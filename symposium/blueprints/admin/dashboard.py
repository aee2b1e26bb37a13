"""Back-office dashboard (routes register on the admin blueprint)."""

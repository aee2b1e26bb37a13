"""Back-office participants (routes register on the admin blueprint)."""

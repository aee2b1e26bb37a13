"""What every feature uses: the audit trail, locks, rule errors, tokens, links."""

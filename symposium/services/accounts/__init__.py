"""Back-office accounts: roles, what each may do, passwords."""

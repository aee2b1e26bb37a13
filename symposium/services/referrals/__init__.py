"""Referrals to a group series ("Welzijn op recept"): a professional refers a client (intake),
the series' coordinators handle them (inbox), mail tells the referrer (notices), and they are
anonymised after the series' retention period (retention). Referral data is health data: only
the coordinators of that series see it (services.accounts.access.REFERRALS)."""

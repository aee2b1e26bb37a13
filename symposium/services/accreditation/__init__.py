"""Accreditation: register numbers, points per person per register, and the lists registers take."""

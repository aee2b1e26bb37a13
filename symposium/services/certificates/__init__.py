"""Attendance certificates: who earns one (``issuing``), the PDF (``document``), the public
check by code (``verification``) and the organiser's settings (``design``)."""

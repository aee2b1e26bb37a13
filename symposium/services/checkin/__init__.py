"""Check-in at the door: tickets (a check-in code per registration, its QR code, the PDF)."""

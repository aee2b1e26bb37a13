"""Business rules: plain functions taking a database session and arguments."""

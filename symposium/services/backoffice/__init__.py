"""What organisers look at: the dashboard, participant lists and search, exports."""

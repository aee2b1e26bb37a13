"""Thin HTTP layers: parse the request, call a service, render."""

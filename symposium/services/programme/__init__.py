"""The programme: catalogue, event files, back-office editing, cached rules, public pages and
calendars."""

"""All file access lives here."""

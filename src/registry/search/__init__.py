"""Search: text analysis for Mongolian (used by the organisation directory now, by the
full-text index of letters later)."""

"""The domain of mts_portal: pure Python, never imports reflex (STYLE rule 1)."""

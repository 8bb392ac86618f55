"""Applications built on lingxi's public API (the reference for what the platform is for)."""

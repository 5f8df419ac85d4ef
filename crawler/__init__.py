"""Everything that touches the web: discovery, fetching, politeness, extraction, normalization."""

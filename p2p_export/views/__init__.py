"""P2P export screens: each area's view module owns its URL patterns; ``p2p_export.urls`` joins them."""

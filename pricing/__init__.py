"""pricing: what it is worth. Tariffs, payment structures and contract simulation."""

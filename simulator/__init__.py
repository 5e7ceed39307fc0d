"""The network simulator: a Faker population and the traffic it makes (python -m simulator)."""

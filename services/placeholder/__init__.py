"""A minimal health-serving stand-in for the Nexus services (see ``__main__``)."""

"""Settings modules: ``base`` (every environment, read from the environment) and ``production``."""

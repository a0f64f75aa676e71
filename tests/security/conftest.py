import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Each test creates five accounts; PBKDF2's deliberate slowness is not what is tested here
    # (test_hardening logs in with the real hasher).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

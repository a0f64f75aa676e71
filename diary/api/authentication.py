"""DRF tokens that expire: a stolen phone's token stops working after ``API_TOKEN_TTL``."""

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class ExpiringTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key: str):
        user, token = super().authenticate_credentials(key)
        if token.created < timezone.now() - settings.API_TOKEN_TTL:
            token.delete()
            raise exceptions.AuthenticationFailed(
                "Token expired; log in again.", code="token_expired"
            )
        return user, token
